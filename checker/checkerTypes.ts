import type { Logger } from 'pino';
import type { Address, Hex } from 'viem';
import type { Grant, QosRole } from '../protocol/eip712.js';
import type { MinuteVerdict } from '../protocol/evaluateMinute.js';
import type { QosPolicy } from '../protocol/qosPolicy.js';
import type { CheckerSessionRecord, CheckerStore } from './store/CheckerStore.js';

/** Where the checker's signatures are bound: the escrow (grants, attestations) and the staking registry. */
export interface CheckerChains {
  escrow: { chainId: number; address: Address };
  staking: { chainId: number; address: Address };
}

export interface CheckerParameters {
  store: CheckerStore;
  policy: QosPolicy;
  /** The checker's secp256k1 key (0x + 64 hex). */
  privateKey: Hex;
  chains: CheckerChains;
  logger: Logger;
  /** Share of the edge's stake (bps) the slash orders it signs for equivocating edges ask for (0 = sign none). */
  slashBps: number;
  /** A slash order stays executable until the grant's expiry plus this many seconds. */
  slashWindowS: number;
  /** Share of the edge's stake (bps) a RefutedSlash order asks for (an edge claim the player refutes; 0 = sign none). */
  refutedSlashBps?: number;
  /** How often due minutes are decided, ms (0 = only when `sweep()` is called). */
  sweepMs: number;
  /** Session data lifetime, ms. */
  retentionMs: number;
  /** Clock (unix ms); injected by tests. */
  now?: () => number;
  /**
   * Whether this checker probes edges (checker/EdgeProber.ts): then each verdict takes the minute's probe RTT from
   * the session's probes in the store.
   */
  probes?: () => boolean;
}

/** A cumulative attestation this checker signed. */
export interface SignedAttestationRecord {
  sessionId: Hex;
  grantHash: Hex;
  minutes: number;
  policyHash: Hex;
  checker: Address;
  signature: Hex;
}

/** A verdict with the time it was decided (what the evidence keeps). */
export type DecidedVerdict = MinuteVerdict & { decidedAt: number };

/** What `submitReport` returns: the verdict when this report completed its minute. */
export interface ReportResult {
  minute: number;
  role: QosRole;
  verdict: DecidedVerdict | null;
  attestation: SignedAttestationRecord | null;
}

/** A session as the checker holds it in memory: its record, parsed grant and the two signers (edge, session key). */
export interface OpenSession {
  record: CheckerSessionRecord;
  grant: Grant;
  signers: [string, string];
}

/** Events of a checker; a throwing listener is logged, never breaks the checker. */
export interface CheckerEvents {
  verdict: (sessionId: Hex, verdict: DecidedVerdict) => void;
  attested: (attestation: SignedAttestationRecord) => void;
  /** A session was opened or one of its reports arrived: its edge is live (what the prober probes). */
  active: (sessionId: Hex, edge: Address) => void;
  /** A decided minute whose edge claim the player's signed report refutes (a `refuted` contradiction). */
  refuted: (sessionId: Hex, minute: number) => void;
}

export type CheckerEventArgs = { [K in keyof CheckerEvents]: Parameters<CheckerEvents[K]> };
