import Type, { type Static } from 'typebox';
import { defineConfig, LogLevel } from '../protocol/loadConfig.js';

const Address = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' });

/** The checker's whole configuration; env `FARPLAY_CHECKER_<NAME>` (upper snake case of each key). */
export const CheckerConfig = Type.Object({
  host: Type.String({ default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8090 }),
  logLevel: LogLevel,
  /** Redis URL; empty = the in-process store. */
  redisUrl: Type.String({ default: '' }),
  /** Prefix of every Redis key (one per checker identity). */
  keyPrefix: Type.String({ default: 'farplay:ck:' }),
  /** The checker's secp256k1 key (0x + 64 hex): its address is what the CheckerRegistry lists. Empty = a fresh one. */
  privateKey: Type.String({ default: '', pattern: '^(0x[0-9a-fA-F]{64})?$' }),
  /** The payments chain and its SessionEscrow: grants and attestations are signed in its EIP-712 domain. */
  paymentsChainId: Type.Integer({ minimum: 1, default: 31338 }),
  escrowAddress: Type.Optional(Address),
  /** The staking chain and its StakingRegistry: QoS reports and slash orders are signed in its domain. */
  stakingChainId: Type.Integer({ minimum: 1, default: 31337 }),
  stakingAddress: Type.Optional(Address),
  /** Policy period ("minute") length, ms; part of the hashed policy (60 s published, shorter in tests). */
  periodMs: Type.Integer({ minimum: 100, default: 60_000 }),
  /** Policy: how long after a minute's first report the other side's may still come. */
  reportGraceMs: Type.Integer({ minimum: 10, default: 10_000 }),
  /** How often due minutes (a side's report missing past its grace) are decided. */
  sweepMs: Type.Integer({ minimum: 10, default: 250 }),
  /** Session data is kept this long after opening (evidence stays servable), ms. Default 30 days. */
  retentionMs: Type.Integer({ minimum: 1000, default: 30 * 86_400_000 }),
  /** Share of the edge's stake (bps) a slash order for an equivocating edge asks for; 0 = sign none. */
  slashBps: Type.Integer({ minimum: 0, maximum: 10_000, default: 1000 }),
  /** Slash orders stay executable until the grant's expiry plus this many seconds (same on every checker). */
  slashWindowS: Type.Integer({ minimum: 60, default: 30 * 86_400 }),
  /**
   * Share of the edge's stake (bps) a RefutedSlash order asks for (an edge claim the player's signed report refutes,
   * once per edge and session); 0 = sign none. Must be the same on every checker (they sign the same order).
   */
  refutedSlashBps: Type.Integer({ minimum: 0, maximum: 10_000, default: 1000 }),
  /** The staking chain's JSON-RPC URL: with it, this checker submits refuted-claim slashes (paying the gas); empty = it only co-signs. */
  stakingRpcUrl: Type.String({ default: '' }),
  /** A submitting checker first waits its rank in the checker set times this, ms (so one of them submits). */
  slashStaggerMs: Type.Integer({ minimum: 0, default: 5000 }),
  /** Requests per client address per window. */
  rateLimitMax: Type.Integer({ minimum: 1, default: 120_000 }),
  rateLimitWindowMs: Type.Integer({ minimum: 100, default: 60_000 }),
  /**
   * Active probes of the sessions' edges (checker/EdgeProber.ts): the matchmaker whose edge list gives each edge's
   * URL and whose `POST /v1/probes` issues this checker's probe tokens. Empty = no probes.
   */
  matchmakerUrl: Type.String({ default: '' }),
  /** RTT probe of each live edge every this many ms (0 = none). */
  probeRttMs: Type.Integer({ minimum: 0, default: 30_000 }),
  /** Timed requests per RTT probe; the smallest is the figure. */
  probeRttSamples: Type.Integer({ minimum: 1, maximum: 20, default: 3 }),
  /** A synthetic session on each live edge every this many ms (0 = none). Default 10 minutes. */
  probeSessionMs: Type.Integer({ minimum: 0, default: 600_000 }),
  /** How long a synthetic session receives after its first frame, ms. */
  probeWindowMs: Type.Integer({ minimum: 200, maximum: 30_000, default: 3000 }),
  /** Largest JSON body, bytes. */
  bodyLimit: Type.Integer({ minimum: 1024, default: 16 * 1024 }),
  /** Largest body of `POST /v1/reports/batch`, bytes (a report is under 1 KiB; at most 512 per batch). */
  batchBodyLimit: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
});
export type CheckerConfig = Static<typeof CheckerConfig>;

const checkerConfig = defineConfig({
  schema: CheckerConfig,
  envPrefix: 'FARPLAY_CHECKER_',
  errorCode: 'CHECKER_BAD_CONFIG',
  label: 'checker',
});

/** The defaults with `overrides`, validated and deep-frozen (throws `CHECKER_BAD_CONFIG` naming the field). */
export function defaultCheckerConfig(overrides: Partial<CheckerConfig> = {}): Readonly<CheckerConfig> {
  return checkerConfig.parse(overrides);
}

/** Reads FARPLAY_CHECKER_* from `env`, applies defaults, validates (the error names the field), deep-freezes. */
export function parseCheckerConfig(env: Record<string, string | undefined>): Readonly<CheckerConfig> {
  return checkerConfig.fromEnv(env);
}
