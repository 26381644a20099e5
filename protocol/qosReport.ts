import Type, { type Static } from 'typebox';
import type { Address, Hex } from 'viem';
import type { Grant, QosLink } from './eip712.js';

/**
 * Per-minute QoS reports as they travel over HTTP to a session's checkers (`POST /v1/reports`), and the grant a
 * session is opened with (`POST /v1/sessions`). The signed data is the EIP-712 `QosLink` of protocol/eip712.ts
 * (staking domain): `linkSignature` over the link, and for the edge also `reportSignature` over the bare
 * `QosReport` inside it (the form the StakingRegistry takes as slashing evidence). bigints travel as decimal
 * strings.
 */

const U32 = Type.Integer({ minimum: 0, maximum: 0xffff_ffff });
/** A 0x-prefixed 32-byte hex value. */
export const Bytes32 = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' });
/** A 0x-prefixed 20-byte address. */
export const AddressHex = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' });
/** A 65-byte secp256k1 signature r ‖ s ‖ v, 0x-hex. */
export const Signature65 = Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' });
const Decimal = (maxLength: number) => Type.String({ pattern: '^[0-9]{1,78}$', maxLength });

/** QosMetrics as JSON (protocol/eip712.ts). */
export const QosMetricsJson = Type.Object(
  {
    frames: U32,
    bitrateKbps: U32,
    encodeTimeUs: U32,
    rttMs: U32,
    jitterMs: U32,
    lossPpm: U32,
    freezeMs: U32,
  },
  { additionalProperties: false },
);

/** QosDetail as JSON (protocol/eip712.ts). */
export const QosDetailJson = Type.Object(
  {
    targetFps: U32,
    framesEncoded: U32,
    framesDropped: U32,
    encodeP99Us: U32,
    nackCount: U32,
    pliCount: U32,
    keyframes: U32,
    freezeCount: U32,
    jitterBufferMs: U32,
    glassP50Ms: U32,
    glassP99Ms: U32,
    glassSamples: U32,
  },
  { additionalProperties: false },
);

/** QosReport as JSON: role 0 = edge, 1 = player. */
export const QosReportJson = Type.Object(
  {
    sessionId: Bytes32,
    minute: U32,
    role: Type.Union([Type.Literal(0), Type.Literal(1)]),
    metrics: QosMetricsJson,
  },
  { additionalProperties: false },
);

/** QosLink as JSON. */
export const QosLinkJson = Type.Object(
  {
    report: QosReportJson,
    prev: Bytes32,
    closedAt: Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 }),
    detail: QosDetailJson,
  },
  { additionalProperties: false },
);

/** One side's signed report of one minute, as posted to a checker. */
export const SignedQosReport = Type.Object(
  {
    link: QosLinkJson,
    /** The signer's EIP-712 signature over `link` (staking domain). */
    linkSignature: Signature65,
    /** Edge only: its EIP-712 signature over `link.report` (slashing evidence). */
    reportSignature: Type.Optional(Signature65),
  },
  { additionalProperties: false },
);
export type SignedQosReport = Omit<Static<typeof SignedQosReport>, 'link'> & { link: QosLink };

/** A grant as JSON (pricePerMinute and expiry as decimal strings). */
export const GrantJson = Type.Object(
  {
    sessionId: Bytes32,
    player: AddressHex,
    edge: AddressHex,
    pricePerMinute: Decimal(30),
    maxMinutes: U32,
    expiry: Decimal(20),
    sessionKey: AddressHex,
  },
  { additionalProperties: false },
);
export type GrantJson = Static<typeof GrantJson>;

/** The JSON form of a grant. */
export function grantToJson(grant: Grant): GrantJson {
  return {
    ...grant,
    pricePerMinute: grant.pricePerMinute.toString(),
    expiry: grant.expiry.toString(),
  };
}

/** A grant from its JSON form. */
export function grantFromJson(json: GrantJson): Grant {
  return {
    sessionId: json.sessionId as Hex,
    player: json.player as Address,
    edge: json.edge as Address,
    pricePerMinute: BigInt(json.pricePerMinute),
    maxMinutes: json.maxMinutes,
    expiry: BigInt(json.expiry),
    sessionKey: json.sessionKey as Address,
  };
}
