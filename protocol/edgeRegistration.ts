import Type, { type Static } from 'typebox';
import {
  type Address,
  domainSeparator,
  type Hex,
  hexToBytes,
  type LocalAccount,
  recoverTypedDataAddress,
} from 'viem';
import { SignedCapabilitySnapshot } from './capabilitySnapshot.js';
import { deploymentSalt } from './deployment.js';
import { FarplayError } from './errors.js';
import { hashTypedMessage } from './hashTypedStruct.js';
import { GameInfo } from './playerApi.js';
import { recoverAddress } from './recoverAddress.js';

/**
 * Edge ↔ matchmaker control messages, signed by the edge's node key (secp256k1; its address is
 * the edge id) as EIP-712 typed data: registration, heartbeat and session start/end reports.
 * Each carries `issuedAt` (unix ms), a random 32-byte `nonce` and the `deployment` it is meant for (the
 * matchmaker's id, protocol/deployment.ts; the EIP-712 domain's `salt` is derived from it): the matchmaker
 * refuses a message for another deployment (`MM_WRONG_DEPLOYMENT`), older than its freshness window, or whose
 * nonce it has seen (replay).
 *
 * JSON form: `{ payload, signature }` with the payload's fields as below. Coordinates are JSON
 * numbers on the wire and signed as integer micro-degrees (`Math.round(deg * 1e6)`);
 * `encodeHeadroom` is signed as integer thousandths.
 */

/** EIP-712 domain of the edge control messages for one deployment (off-chain: no chainId, no contract). */
export function edgeControlDomain(deployment: string) {
  return { name: 'Farplay Matchmaker', version: '2', salt: deploymentSalt(deployment) } as const;
}

/** EIP-712 types of the edge control messages. */
export const edgeControlTypes = {
  Game: [
    { name: 'id', type: 'string' },
    { name: 'title', type: 'string' },
    { name: 'description', type: 'string' },
    { name: 'width', type: 'uint32' },
    { name: 'height', type: 'uint32' },
    { name: 'fps', type: 'uint32' },
    { name: 'pricePerMinute', type: 'uint256' },
    { name: 'input', type: 'string[]' },
  ],
  EdgeRegistration: [
    { name: 'edge', type: 'address' },
    { name: 'region', type: 'string' },
    { name: 'latE6', type: 'int32' },
    { name: 'lonE6', type: 'int32' },
    { name: 'gpu', type: 'string' },
    { name: 'encoders', type: 'string[]' },
    { name: 'capacity', type: 'uint32' },
    { name: 'pricePerMinute', type: 'uint256' },
    { name: 'version', type: 'string' },
    { name: 'publicUrl', type: 'string' },
    { name: 'games', type: 'Game[]' },
    { name: 'runtimes', type: 'string[]' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
  ],
  EdgeHeartbeat: [
    { name: 'edge', type: 'address' },
    { name: 'activeSessions', type: 'uint32' },
    { name: 'freeSlots', type: 'uint32' },
    { name: 'encodeHeadroomMilli', type: 'uint32' },
    { name: 'sessionIds', type: 'string' },
    { name: 'sessionOwners', type: 'string' },
    { name: 'peers', type: 'address[]' },
    { name: 'peerRttsMicro', type: 'uint64[]' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
  ],
  EdgeSessionReport: [
    { name: 'edge', type: 'address' },
    { name: 'sessionId', type: 'string' },
    { name: 'event', type: 'string' },
    { name: 'reason', type: 'string' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

const AddressString = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' });
const NonceString = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' });
const SignatureString = Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' });
const IssuedAt = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 });
/** The matchmaker deployment a message is for (protocol/deployment.ts `deploymentOf`). */
const Deployment = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

/** What an edge tells the matchmaker about itself. */
export const EdgeRegistrationPayload = Type.Object(
  {
    edge: AddressString,
    region: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$' }),
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    gpu: Type.String({ maxLength: 128 }),
    /** FFmpeg encoders that really opened on this machine, e.g. ['h264_nvenc', 'libx264']. */
    encoders: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 16 }),
    capacity: Type.Integer({ minimum: 0, maximum: 10_000 }),
    /** ATH wei per minute, decimal string. */
    pricePerMinute: Type.String({ pattern: '^[0-9]{1,30}$' }),
    version: Type.String({ maxLength: 64 }),
    /** The edge's public HTTP base URL (probe at `${publicUrl}/v1/probe`). */
    publicUrl: Type.String({ minLength: 1, maxLength: 512, pattern: '^https?://' }),
    /** Built-in games this edge runs. */
    games: Type.Array(GameInfo, { maxItems: 64 }),
    /**
     * Runtimes for studio packages this edge runs (`EDGE_RUNTIMES`); none = built-in games only. Signed as
     * an empty list when absent.
     */
    runtimes: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', maxLength: 32 }), { maxItems: 8 }),
    ),
    issuedAt: IssuedAt,
    nonce: NonceString,
    deployment: Deployment,
  },
  { additionalProperties: false },
);
export type EdgeRegistrationPayload = Static<typeof EdgeRegistrationPayload>;

/** Package runtimes an edge may advertise: 'x11' = native Linux games under a virtual X display. */
export const EDGE_RUNTIMES = { x11: 'x11' } as const;
export type EdgeRuntime = (typeof EDGE_RUNTIMES)[keyof typeof EDGE_RUNTIMES];

/**
 * The `reason` of an `ended` session report from an edge shutting down gracefully: the matchmaker moves the
 * player to another edge at once (a `moved` event) instead of ending the session.
 */
export const EDGE_SHUTDOWN_REASON = 'edge-shutdown';

/** Most peers the matchmaker asks an edge to measure, and most peer RTTs one heartbeat may carry. */
export const MAX_EDGE_PEERS = 4;

/**
 * One edge's RTT to another edge (the minimum of a few timed requests to the peer's `/health`): the
 * matchmaker uses it to place the reporting edge's network coordinate (edge-to-edge anchors).
 */
export const EdgePeerRtt = Type.Object(
  {
    /** The peer's edge id (its address). */
    edge: AddressString,
    /** ms; signed as integer microseconds. The matchmaker ignores implausible values. */
    rttMs: Type.Number({ minimum: 0, maximum: 60_000 }),
  },
  { additionalProperties: false },
);
export type EdgePeerRtt = Static<typeof EdgePeerRtt>;

/** Load an edge reports every few seconds. */
export const EdgeHeartbeatPayload = Type.Object(
  {
    edge: AddressString,
    activeSessions: Type.Integer({ minimum: 0, maximum: 100_000 }),
    freeSlots: Type.Integer({ minimum: 0, maximum: 100_000 }),
    /** Spare encode capacity, in streams (fractional); signed as thousandths. */
    encodeHeadroom: Type.Number({ minimum: 0, maximum: 1_000_000 }),
    /**
     * Ids of the sessions running on the edge now (optional): the matchmaker reconciles its records with
     * them (re-creates what it lost, frees what the edge no longer has). Signed as one newline-joined string.
     */
    activeSessionIds: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\n]+$' }), { maxItems: 1024 }),
    ),
    /**
     * The session key owning each of `activeSessionIds` (same order; '' when its token named none), from the
     * tokens: a matchmaker that re-creates a session from a heartbeat keeps its owner. Signed newline-joined.
     */
    activeSessionOwners: Type.Optional(
      Type.Array(Type.String({ pattern: '^(0x[0-9a-f]{40})?$' }), { maxItems: 1024 }),
    ),
    /**
     * The edge's RTTs to the peers the matchmaker named in an earlier heartbeat answer (optional, at most
     * `MAX_EDGE_PEERS`). Signed as two lists: the peers' addresses and the RTTs in integer microseconds.
     */
    peerRtts: Type.Optional(Type.Array(EdgePeerRtt, { maxItems: MAX_EDGE_PEERS })),
    issuedAt: IssuedAt,
    nonce: NonceString,
    deployment: Deployment,
  },
  { additionalProperties: false },
);
export type EdgeHeartbeatPayload = Static<typeof EdgeHeartbeatPayload>;

/** An edge reporting that a session started (reservation → active) or ended (slot released). */
export const EdgeSessionReportPayload = Type.Object(
  {
    edge: AddressString,
    sessionId: Type.String({ minLength: 1, maxLength: 128 }),
    event: Type.Union([Type.Literal('started'), Type.Literal('ended')]),
    reason: Type.String({ maxLength: 256 }),
    issuedAt: IssuedAt,
    nonce: NonceString,
    deployment: Deployment,
  },
  { additionalProperties: false },
);
export type EdgeSessionReportPayload = Static<typeof EdgeSessionReportPayload>;

/**
 * POST /v1/edges/register body: a registration and its EIP-712 signature by the edge's node key, and
 * optionally the capability snapshot its declared capacity is checked against (protocol/capabilitySnapshot.ts).
 */
export const SignedEdgeRegistration = Type.Object({
  payload: EdgeRegistrationPayload,
  signature: SignatureString,
  capability: Type.Optional(SignedCapabilitySnapshot),
});
export type SignedEdgeRegistration = Static<typeof SignedEdgeRegistration>;
/** POST /v1/edges/heartbeat body: a heartbeat and its signature. */
export const SignedEdgeHeartbeat = Type.Object({ payload: EdgeHeartbeatPayload, signature: SignatureString });
export type SignedEdgeHeartbeat = Static<typeof SignedEdgeHeartbeat>;
/** POST /v1/edges/sessions body: a session report and its signature. */
export const SignedEdgeSessionReport = Type.Object({
  payload: EdgeSessionReportPayload,
  signature: SignatureString,
});
export type SignedEdgeSessionReport = Static<typeof SignedEdgeSessionReport>;

function registrationMessage(p: EdgeRegistrationPayload) {
  return {
    edge: p.edge as Address,
    region: p.region,
    latE6: Math.round(p.lat * 1e6),
    lonE6: Math.round(p.lon * 1e6),
    gpu: p.gpu,
    encoders: p.encoders,
    capacity: p.capacity,
    pricePerMinute: BigInt(p.pricePerMinute),
    version: p.version,
    publicUrl: p.publicUrl,
    games: p.games.map((g) => ({
      id: g.id,
      title: g.title,
      description: g.description,
      width: g.width,
      height: g.height,
      fps: g.fps,
      pricePerMinute: BigInt(g.pricePerMinute),
      input: [...g.input],
    })),
    runtimes: [...(p.runtimes ?? [])],
    issuedAt: BigInt(p.issuedAt),
    nonce: p.nonce as Hex,
  };
}

function heartbeatMessage(p: EdgeHeartbeatPayload) {
  return {
    edge: p.edge as Address,
    activeSessions: p.activeSessions,
    freeSlots: p.freeSlots,
    encodeHeadroomMilli: Math.round(p.encodeHeadroom * 1000),
    sessionIds: (p.activeSessionIds ?? []).join('\n'),
    sessionOwners: (p.activeSessionOwners ?? []).join('\n'),
    peers: (p.peerRtts ?? []).map((r) => r.edge as Address),
    peerRttsMicro: (p.peerRtts ?? []).map((r) => BigInt(Math.round(r.rttMs * 1000))),
    issuedAt: BigInt(p.issuedAt),
    nonce: p.nonce as Hex,
  };
}

function sessionReportMessage(p: EdgeSessionReportPayload) {
  return {
    edge: p.edge as Address,
    sessionId: p.sessionId,
    event: p.event,
    reason: p.reason,
    issuedAt: BigInt(p.issuedAt),
    nonce: p.nonce as Hex,
  };
}

type Kind = 'EdgeRegistration' | 'EdgeHeartbeat' | 'EdgeSessionReport';
type PayloadOf<K extends Kind> = K extends 'EdgeRegistration'
  ? EdgeRegistrationPayload
  : K extends 'EdgeHeartbeat'
    ? EdgeHeartbeatPayload
    : EdgeSessionReportPayload;

function messageOf<K extends Kind>(kind: K, payload: PayloadOf<K>) {
  return kind === 'EdgeRegistration'
    ? registrationMessage(payload as EdgeRegistrationPayload)
    : kind === 'EdgeHeartbeat'
      ? heartbeatMessage(payload as EdgeHeartbeatPayload)
      : sessionReportMessage(payload as EdgeSessionReportPayload);
}

function typedData<K extends Kind>(kind: K, payload: PayloadOf<K>) {
  return {
    domain: edgeControlDomain(payload.deployment),
    types: edgeControlTypes,
    primaryType: kind,
    message: messageOf(kind, payload),
  } as const;
}

/** Signs an edge control message with the edge's node key. */
export async function signEdgeMessage<K extends Kind>(
  account: LocalAccount,
  kind: K,
  payload: PayloadOf<K>,
): Promise<Hex> {
  // biome-ignore lint/suspicious/noExplicitAny: the three typed-data shapes are checked by the builders above
  return account.signTypedData(typedData(kind, payload) as any);
}

/** Domain separators of the deployments seen (one per matchmaker, a few at most in tests). */
const separators = new Map<string, Uint8Array>();

function separatorOf(deployment: string): Uint8Array {
  let separator = separators.get(deployment);
  if (!separator) {
    separator = hexToBytes(domainSeparator({ domain: edgeControlDomain(deployment) }));
    if (separators.size >= 64) separators.clear();
    separators.set(deployment, separator);
  }
  return separator;
}

/**
 * The EIP-712 digest an edge control message is signed over (what `signEdgeMessage` signs), hashed directly
 * (protocol/hashTypedStruct.ts: viem's value and refusals, ~30x cheaper — the matchmaker hashes every edge's
 * heartbeat every 2 s).
 */
export function edgeMessageDigest<K extends Kind>(kind: K, payload: PayloadOf<K>): Hex {
  return hashTypedMessage(separatorOf(payload.deployment), edgeControlTypes, kind, messageOf(kind, payload));
}

export interface VerifyEdgeMessageParameters<K extends Kind> {
  kind: K;
  payload: PayloadOf<K>;
  signature: string;
  /** This matchmaker's deployment id: a message for another is refused (`MM_WRONG_DEPLOYMENT`). */
  deployment: string;
  /**
   * Messages issued before this instant (unix ms) are refused as stale: a matchmaker whose store forgot the
   * nonces it saw (in-process, restarted) sets its start time, so nothing signed before the restart replays.
   */
  notBefore?: number;
  /** Now, unix ms (default: the clock). */
  now?: number;
  /** Largest age (and future skew) accepted, ms (default 60 000). */
  maxAgeMs?: number;
  /** Recovers the signer of a digest (default `recoverAddress`, in this thread; the matchmaker's `RecoverWorker`). */
  recover?: (digest: Uint8Array, signature: string) => Promise<Address | 'malleable' | undefined>;
}

/**
 * Verifies an edge control message: fresh (`issuedAt` within `maxAgeMs` of now) and signed by the
 * key of `payload.edge`, for this deployment. Throws FarplayError `MM_WRONG_DEPLOYMENT`, `MM_STALE_MESSAGE` or
 * `MM_BAD_SIGNATURE`.
 * Replay (a nonce seen before) is the store's job: it claims `payload.nonce` atomically.
 */
export async function verifyEdgeMessage<K extends Kind>(
  parameters: VerifyEdgeMessageParameters<K>,
): Promise<void> {
  const { kind, payload, signature } = parameters;
  const now = parameters.now ?? Date.now();
  const maxAge = parameters.maxAgeMs ?? 60_000;
  if (payload.deployment !== parameters.deployment) {
    throw new FarplayError(
      'MM_WRONG_DEPLOYMENT',
      `${kind} is signed for deployment ${payload.deployment}; this matchmaker is ${parameters.deployment}`,
      { details: { deployment: parameters.deployment } },
    );
  }
  if (parameters.notBefore !== undefined && payload.issuedAt < parameters.notBefore) {
    throw new FarplayError('MM_STALE_MESSAGE', `${kind} was issued before this matchmaker started`, {
      details: { issuedAt: payload.issuedAt, notBefore: parameters.notBefore },
    });
  }
  if (Math.abs(now - payload.issuedAt) > maxAge) {
    throw new FarplayError('MM_STALE_MESSAGE', `${kind} issuedAt is more than ${maxAge} ms from now`, {
      details: { issuedAt: payload.issuedAt, now },
    });
  }
  let recovered: Address | 'malleable' | undefined;
  try {
    // libsecp256k1 (native) over the EIP-712 digest: ~30x cheaper than viem's pure-JS recovery, which cost
    // 1–2.5 ms per heartbeat (1,000 edges every 2 s: most of a core). A high-s signature (which viem accepts)
    // takes viem's path, so what verifies is unchanged.
    const digest = hexToBytes(edgeMessageDigest(kind, payload));
    recovered = parameters.recover
      ? await parameters.recover(digest, signature)
      : recoverAddress(digest, signature);
    if (recovered === 'malleable') {
      recovered = await recoverTypedDataAddress({
        // biome-ignore lint/suspicious/noExplicitAny: see signEdgeMessage
        ...(typedData(kind, payload) as any),
        signature: signature as Hex,
      });
    }
  } catch (cause) {
    throw new FarplayError('MM_BAD_SIGNATURE', `${kind} signature is malformed`, { cause });
  }
  if (recovered === undefined) throw new FarplayError('MM_BAD_SIGNATURE', `${kind} signature is malformed`);
  if (recovered.toLowerCase() !== payload.edge.toLowerCase()) {
    throw new FarplayError('MM_BAD_SIGNATURE', `${kind} is not signed by ${payload.edge}`);
  }
}

/** A random 32-byte nonce as 0x-hex. */
export function randomNonce(): Hex {
  return `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}`;
}
