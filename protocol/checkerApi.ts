import Type, { type Static } from 'typebox';
import { AddressHex, Bytes32, GrantJson, Signature65 } from './qosReport.js';

/**
 * The checker's HTTP API (checker/buildApp.ts): open a session with the player's grant, post each side's signed
 * per-minute reports, read the cumulative attestations a settlement needs and the evidence behind every verdict.
 */

/** `POST /v1/sessions`: open a session at this checker (anyone may; the grant is the player's signature). */
export const OpenSessionRequest = Type.Object(
  {
    grant: GrantJson,
    /** The player's EIP-712 signature over the grant (escrow domain). */
    grantSignature: Signature65,
  },
  { additionalProperties: false },
);

/** What a checker answers about a session it has open. */
export const CheckerSessionInfo = Type.Object({
  sessionId: Bytes32,
  grantHash: Bytes32,
  policyHash: Bytes32,
  periodMs: Type.Integer(),
  /** Unix ms; minute m closes at openedAt + (m + 1) * periodMs (this checker's clock). */
  openedAt: Type.Integer(),
  billableMinutes: Type.Integer(),
  checker: AddressHex,
});

/** One cumulative attestation: Attestation(sessionId, grantHash, minutes, policyHash) signed by `checker`. */
export const SignedAttestation = Type.Object({
  sessionId: Bytes32,
  grantHash: Bytes32,
  minutes: Type.Integer(),
  policyHash: Bytes32,
  checker: AddressHex,
  signature: Signature65,
});

/** A minute's verdict as served (protocol/evaluateMinute.ts MinuteVerdict plus when it was decided). */
export const MinuteVerdictJson = Type.Object({
  minute: Type.Integer(),
  billable: Type.Boolean(),
  reasons: Type.Array(Type.String()),
  disputes: Type.Array(
    Type.Object({
      kind: Type.String(),
      edge: Type.Number(),
      player: Type.Number(),
      decided: Type.Number(),
      probe: Type.Optional(Type.Number()),
    }),
  ),
  contradiction: Type.Boolean(),
  figures: Type.Union([
    Type.Null(),
    Type.Object({
      expectedFrames: Type.Number(),
      deliveredFrames: Type.Number(),
      freezeMs: Type.Number(),
      rttMs: Type.Number(),
      lossPpm: Type.Number(),
      probeRttMs: Type.Optional(Type.Number()),
    }),
  ]),
  decidedAt: Type.Integer(),
});

/** `POST /v1/sessions/:sessionId/reports` answer: accepted; the verdict once both sides are in. */
export const ReportAccepted = Type.Object({
  minute: Type.Integer(),
  role: Type.Integer(),
  verdict: Type.Union([Type.Null(), MinuteVerdictJson]),
  attestation: Type.Union([Type.Null(), SignedAttestation]),
});

/** Most reports one `POST /v1/reports/batch` carries. */
export const REPORT_BATCH_MAX = 512;

/**
 * `POST /v1/reports/batch`: several signed reports in one request (an edge's reports of a period for all its
 * sessions), each for the session it names. Each item is validated and decided on its own, in order: a bad item is
 * refused with its own code and does not spoil the others.
 */
export const ReportBatchRequest = Type.Object(
  { reports: Type.Array(Type.Unknown(), { minItems: 1, maxItems: REPORT_BATCH_MAX }) },
  { additionalProperties: false },
);

/** One item's outcome in a batch answer: what the single route answers, `accepted` or `error` (a catalogue body). */
export type ReportBatchResult =
  | { accepted: Static<typeof ReportAccepted> }
  | { error: { code: string; message: string; details?: unknown } };

/** `GET /v1/health`. */
export const CheckerHealth = Type.Object({
  ok: Type.Boolean(),
  checker: AddressHex,
  policyHash: Bytes32,
  periodMs: Type.Integer(),
  store: Type.String(),
});

/**
 * `GET /v1/sessions/:sessionId/minutes/:minute`: which sides' reports of one minute this checker holds (late ones
 * included). Edges poll it to learn whether the player reported the last period (they pause the stream if not).
 */
export const MinuteReports = Type.Object({
  sessionId: Bytes32,
  minute: Type.Integer(),
  edge: Type.Boolean(),
  player: Type.Boolean(),
});
export type MinuteReports = Static<typeof MinuteReports>;
