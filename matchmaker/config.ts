import Type, { type Static } from 'typebox';
import { defineConfig, LogLevel } from '../protocol/loadConfig.js';

/** The matchmaker's whole configuration; env `FARPLAY_MM_<NAME>` (upper snake case of each key). */
export const MatchmakerConfig = Type.Object({
  host: Type.String({ default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  logLevel: LogLevel,
  /** Redis URL; empty = the in-process store. */
  redisUrl: Type.String({ default: '' }),
  /**
   * Redis Cluster start-up nodes, `host:port,host:port` (any few of its nodes); non-empty = the store runs on
   * that cluster (redisUrl is then ignored).
   */
  redisCluster: Type.String({ default: '', pattern: '^([^,:\\s]+:\\d{1,5}(,[^,:\\s]+:\\d{1,5})*)?$' }),
  /** Prefix of every Redis key. */
  keyPrefix: Type.String({ default: 'farplay:mm:' }),
  /** Ed25519 session-token key (base64url pkcs8); empty = a fresh one per start (single-instance only). */
  sessionPrivateKey: Type.String({ default: '' }),
  /** Studio API keys, `studio=key` pairs separated by commas. */
  studioApiKeys: Type.String({ default: '' }),
  /** Built player page to serve at / (e.g. dist/player); empty = none. */
  staticDir: Type.String({ default: '' }),
  /** Where uploaded game packages go; empty = in memory. */
  dataDir: Type.String({ default: '' }),
  /** An edge with no heartbeat for this long leaves allocation. */
  edgeTtlMs: Type.Integer({ minimum: 500, default: 6000 }),
  /** Heartbeat period the matchmaker asks edges for. */
  heartbeatMs: Type.Integer({ minimum: 100, default: 2000 }),
  /**
   * A reserved slot the edge does not report started within this time is freed (the edge reports the start
   * as soon as the player's signalling socket is admitted, well under a second after the answer).
   */
  reservationTtlMs: Type.Integer({ minimum: 1000, default: 10_000 }),
  /** Session token lifetime (to connect), seconds; no longer than the reservation is useful. */
  tokenTtlS: Type.Integer({ minimum: 5, default: 10 }),
  /** Most unconnected reservations one session key may hold at once (MM_RESERVATION_LIMIT; 0 = no cap). */
  maxReservationsPerKey: Type.Integer({ minimum: 0, default: 2 }),
  /**
   * Most unconnected reservations one client address (an IPv6 /64) may hold at once (MM_RESERVATION_LIMIT;
   * 0 = no cap). Started sessions do not count.
   */
  maxReservationsPerClient: Type.Integer({ minimum: 0, default: 4 }),
  /** Edge messages older (or further in the future) than this are refused. */
  messageMaxAgeMs: Type.Integer({ minimum: 1000, default: 60_000 }),
  /** Requests per client address per window (players, studios; not signed edge messages). */
  rateLimitMax: Type.Integer({ minimum: 1, default: 1200 }),
  rateLimitWindowMs: Type.Integer({ minimum: 100, default: 60_000 }),
  /** Signed edge messages per edge address per window, counted after the signature is checked. */
  edgeRateLimitMax: Type.Integer({ minimum: 1, default: 600 }),
  /**
   * Edge messages per client address per window that fail before their signature checks out (bad schema,
   * signature or age): past this, that address's edge routes answer RATE_LIMITED until the window ends.
   */
  edgeFailureLimitMax: Type.Integer({ minimum: 1, default: 120 }),
  /** WebSocket upgrades (session events sockets) per client address per window. */
  upgradeRateLimitMax: Type.Integer({ minimum: 1, default: 120 }),
  /**
   * Where the client address comes from behind a load balancer (fastify `trustProxy`): '' = the socket's
   * peer (no proxy trusted), a number = that many proxy hops, else a comma-separated list of the proxies'
   * addresses or CIDRs whose `X-Forwarded-For` is believed.
   */
  trustProxy: Type.String({ default: '' }),
  /** Largest JSON body, bytes. */
  bodyLimit: Type.Integer({ minimum: 1024, default: 256 * 1024 }),
  /** Largest game package, bytes. */
  packageLimit: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024 }),
  /** Without `dataDir`: the most bytes of packages kept in memory (MM_PACKAGE_STORE_FULL past it). */
  packageMemoryLimit: Type.Integer({ minimum: 1024, default: 256 * 1024 * 1024 }),
  /**
   * Bearer token for the operator endpoints (/metrics, /docs); empty = only from the matchmaker's own machine
   * (a loopback peer with no forwarding header). Otherwise MM_OPERATOR_ONLY.
   */
  operatorToken: Type.String({ default: '' }),
  /** How often the edge registry, prices and coordinates are re-read from the store. */
  refreshMs: Type.Integer({ minimum: 20, default: 500 }),
  /** How often dead edges are looked for (and their players moved). */
  reapMs: Type.Integer({ minimum: 20, default: 500 }),
  /** Pricing window for demand, ms. */
  demandWindowMs: Type.Integer({ minimum: 10_000, default: 60_000 }),
  /** Coarse pre-filter radius around a player's location hint, km. */
  candidateRadiusKm: Type.Number({ minimum: 1, default: 4000 }),
  /**
   * Where a candidates request without a location is placed from its client address (matchmaker/IpLocator.ts):
   * 'dbip' = the bundled DB-IP City Lite (CC BY 4.0: pages using it link to DB-IP), 'off' = nowhere, else
   * comma-separated paths of MaxMind-format (.mmdb) city databases.
   */
  ipLocationDb: Type.String({ default: 'dbip', minLength: 1 }),
  /** UDP port answering edges' reachability probes (`farplay-edge doctor`); 0 = any free port. */
  udpProbePort: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
  /** How long a capability snapshot (`farplay-edge bench`) stays valid, from its nonce, seconds (30 days). */
  capabilityMaxAgeS: Type.Integer({ minimum: 60, default: 30 * 86_400 }),
  /** Refuse registrations that carry no capability snapshot (default false). */
  requireCapability: Type.Boolean({ default: false }),
  /**
   * Refuse session requests without a session key (protocol/sessionProof.ts; default true: the player page,
   * the tools and the benches all sign). `false` is an opt-out for old clients only: a session made without
   * a key may then be watched and replaced by its bare id, which lets anyone who learns the id do so.
   */
  requireSessionKey: Type.Boolean({ default: true }),
  /**
   * Billing (issue 9). The checkers sessions are assigned from (base URLs, comma-separated); empty = the checkers
   * the staking chain's CheckerRegistry lists (with `stakingRpcUrl`), else sessions are not billed. Each session gets `checkersPerSession` of them, chosen from its id (the edge cannot choose).
   */
  checkerUrls: Type.String({ default: '' }),
  /**
   * With no `checkerUrls`: how often the staking chain's CheckerRegistry (registered checkers and the endpoints they
   * published) is read again, ms. A checker removed there is not assigned after the next read.
   */
  checkerRefreshMs: Type.Integer({ minimum: 100, default: 30_000 }),
  /**
   * Probe sessions (`POST /v1/probes`): one per checker and edge per this many ms (a checker asking sooner gets
   * MM_PROBE_TOO_SOON), so checkers cannot crowd an edge with probes.
   */
  probeIntervalMs: Type.Integer({ minimum: 0, default: 60_000 }),
  checkersPerSession: Type.Integer({ minimum: 1, maximum: 16, default: 3 }),
  /** Attestations that settle a minute (the escrow's quorum); 0 = a majority of the session's checkers. */
  checkerQuorum: Type.Integer({ minimum: 0, maximum: 16, default: 0 }),
  /** The published QoS policy's period, ms (the checkers' `FARPLAY_CHECKER_PERIOD_MS`). */
  qosPeriodMs: Type.Integer({ minimum: 100, default: 60_000 }),
  /** Where the money lives: the SessionEscrow and the StakingRegistry (the QoS reports' signing domain). */
  paymentsChainId: Type.Integer({ minimum: 1, default: 31338 }),
  escrowAddress: Type.String({ default: '' }),
  stakingChainId: Type.Integer({ minimum: 1, default: 31337 }),
  stakingAddress: Type.String({ default: '' }),
  /** The payments chain's JSON-RPC URL: deposits are read there; also told to pages (local networks). */
  paymentsRpcUrl: Type.String({ default: '' }),
  /** A paid network: a session request must name its payer, whose available deposit covers price × maxMinutes. */
  requireDeposit: Type.Boolean({ default: false }),
  /** The grant's maximum minutes the matchmaker asks pages to sign (and the deposit must cover). */
  grantMaxMinutes: Type.Integer({ minimum: 1, maximum: 65_535, default: 120 }),
  /**
   * The staking chain's JSON-RPC URL: with `stakingAddress` set, an edge registers only with an active stake in
   * that StakingRegistry (checked again every `stakeCheckMs`; an edge that loses it leaves allocation). Empty = no
   * stake check.
   */
  stakingRpcUrl: Type.String({ default: '' }),
  /** How long an edge's stake answer is trusted before it is read again, ms. */
  stakeCheckMs: Type.Integer({ minimum: 100, default: 30_000 }),
  /** Largest capacity (concurrent sessions) an edge may declare; a signed capability snapshot bounds it further. */
  maxEdgeCapacity: Type.Integer({ minimum: 1, maximum: 10_000, default: 256 }),
  /**
   * Game ids of the games edges ship built in, comma-separated: edges advertising them put them in the
   * catalogue, no studio may publish them, and no other id an edge advertises reaches the catalogue.
   */
  builtInGameIds: Type.String({ default: 'breakout,latency-probe,latency-probe-30,stress' }),
});
export type MatchmakerConfig = Static<typeof MatchmakerConfig>;

const matchmakerConfig = defineConfig({
  schema: MatchmakerConfig,
  envPrefix: 'FARPLAY_MM_',
  errorCode: 'MM_BAD_CONFIG',
  label: 'matchmaker',
});

/** Field name → env name: `edgeTtlMs` → `FARPLAY_MM_EDGE_TTL_MS`. */
export const matchmakerConfigEnvName = matchmakerConfig.envName;

/** The defaults with `overrides`, validated and deep-frozen (throws `MM_BAD_CONFIG` naming the field). */
export function defaultMatchmakerConfig(
  overrides: Partial<MatchmakerConfig> = {},
): Readonly<MatchmakerConfig> {
  return matchmakerConfig.parse(overrides);
}

/** Reads FARPLAY_MM_* from `env`, applies defaults, validates (the error names the field), deep-freezes. */
export function parseMatchmakerConfig(env: Record<string, string | undefined>): Readonly<MatchmakerConfig> {
  return matchmakerConfig.fromEnv(env);
}

/** Parses `redisCluster` (`host:port,host:port`, checked by the schema) into the cluster's start-up nodes. */
export function parseRedisClusterNodes(spec: string): { host: string; port: number }[] {
  if (spec === '') return [];
  return spec.split(',').map((node) => {
    const colon = node.lastIndexOf(':');
    return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
  });
}

/** Parses `studio=key,studio2=key2` into key → studio (a key may itself contain `=`, e.g. base64 padding). */
export function parseStudioKeys(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of spec.split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const studio = pair.slice(0, eq).trim();
    const key = pair.slice(eq + 1).trim();
    if (studio && key) out.set(key, studio);
  }
  return out;
}
