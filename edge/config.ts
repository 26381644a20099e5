import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Type, { type Static } from 'typebox';
import { FarplayError } from '../protocol/errors.js';
import { defineConfig, LogLevel } from '../protocol/loadConfig.js';

const IceServer = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())]),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});

/** The edge's configuration: one schema with its defaults. `loadEdgeConfig` reads it from FARPLAY_EDGE_* env. */
export const EdgeConfig = Type.Object({
  /** Address to listen on (default 127.0.0.1). */
  host: Type.String({ default: '127.0.0.1' }),
  /** Port to listen on; 0 picks a free one (default 8700). */
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8700 }),
  /** Public base URL of the edge (default: http://{host}:{port} after listening). */
  publicUrl: Type.Optional(Type.String()),
  /** Region name reported to players and the matchmaker (default 'local'). */
  region: Type.String({ default: 'local' }),
  /** secp256k1 private key (0x + 64 hex) of the node; its address is the edge id. Generated if absent. */
  nodePrivateKey: Type.Optional(Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' })),
  /**
   * Ed25519 public key (base64url spki) of the matchmaker that signs session tokens. When absent the edge
   * runs STANDALONE: it makes its own key pair and serves the player API (games, candidates, sessions).
   */
  matchmakerPublicKey: Type.Optional(Type.String({ minLength: 16 })),
  /**
   * Matchmaker base URL. When set, `edge/main.ts` fetches the matchmaker's token key from it (unless
   * `matchmakerPublicKey` is given), registers this edge and heartbeats (edge/control/).
   */
  matchmakerUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Where the edge is, for the matchmaker's coarse location filter (default 0, 0). */
  lat: Type.Number({ minimum: -90, maximum: 90, default: 0 }),
  lon: Type.Number({ minimum: -180, maximum: 180, default: 0 }),
  /** GPU model reported to the matchmaker (default 'none'). */
  gpu: Type.String({ maxLength: 120, default: 'none' }),
  /** Concurrent sessions this edge accepts (default 4). */
  capacity: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
  /** H.264 encoders to probe, in order of preference (default NVENC, then x264). */
  encoders: Type.Array(Type.String(), { default: ['h264_nvenc', 'libx264'], minItems: 1 }),
  /** Start video bitrate in kbit/s (default 6000). */
  videoBitrateKbps: Type.Integer({ minimum: 100, maximum: 100_000, default: 6000 }),
  /** Bounds for bitrate changes requested by players, kbit/s. */
  minVideoBitrateKbps: Type.Integer({ minimum: 100, default: 300 }),
  maxVideoBitrateKbps: Type.Integer({ maximum: 100_000, default: 20_000 }),
  /**
   * Largest picture a player may ask for with `resize`, in pixels (default 1920×1080): one session's
   * 8K encode would starve the others on this machine. A larger request ends the session (4400).
   */
  maxStreamPixels: Type.Integer({ minimum: 256, default: 1920 * 1080 }),
  /**
   * Encoder threads per session. 0 = auto (default): 2 (x264 sliced threads, about half the per-frame
   * latency) while the edge has fewer sessions than CPU cores when the session starts, else 1 (most
   * sessions per machine).
   */
  encoderThreads: Type.Integer({ minimum: 0, maximum: 64, default: 0 }),
  /**
   * Send the playout-delay RTP header extension with min = max = 0 (default true): Chromium then shows
   * each frame as soon as it is decoded instead of holding a jitter buffer.
   */
  zeroPlayoutDelay: Type.Boolean({ default: true }),
  /**
   * Transport-wide congestion control (default true): negotiate transport-cc with the player, pace the
   * video, let the bandwidth estimate drive the encoder's bitrate (under the player's cap) and step the
   * picture down and up (edge/media/VideoRateControl.ts). Off: a fixed bitrate the player's menu sets.
   */
  congestionControl: Type.Boolean({ default: true }),
  /** With congestion control, step resolution (then fps) down when the estimate stays under the picture's need (default true). */
  adaptResolution: Type.Boolean({ default: true }),
  /**
   * With congestion control, forward error correction for the video (default true): offer RED + ULPFEC
   * (and RTX for RED); when the player accepts them and the Dependency Descriptor, each frame goes in RED
   * followed by ULPFEC parity sized to the loss transport-cc feedback measures (none without loss). A
   * player without the descriptor gets no FEC (Chromium's sequence-number reference finder stalls on it,
   * edge/README.md "Loss recovery"). See edge/media/fec/VideoFec.ts.
   */
  fec: Type.Boolean({ default: true }),
  /** Opus bitrate in kbit/s (default 64). */
  audioBitrateKbps: Type.Integer({ minimum: 6, maximum: 510, default: 64 }),
  /**
   * ICE servers handed to each peer connection (default none: with a matchmaker, its STUN responder, see
   * `matchmakerStun`; without one, host candidates only).
   */
  iceServers: Type.Array(IceServer, { default: [] }),
  /**
   * With `matchmakerUrl` and no `iceServers`, use the matchmaker's UDP probe port as STUN server
   * (`stun:<matchmaker host>:<port of GET /v1/operator/udp-probe>`; default true).
   */
  matchmakerStun: Type.Boolean({ default: true }),
  /** Extra host candidate addresses, e.g. loopback (default ['127.0.0.1']). */
  iceAdditionalHostAddresses: Type.Array(Type.String(), { default: ['127.0.0.1'] }),
  /**
   * Accept players' ICE candidates at loopback, link-local, private and other non-public addresses (default
   * false: a public edge never sends to a player's LAN or its own localhost; the player is reached through
   * the peer-reflexive address its checks come from). `npm start` and the tests on loopback set it.
   */
  allowPrivateCandidates: Type.Boolean({ default: false }),
  /** If set, only candidate pairs whose local address is in this list are used (e.g. ['127.0.0.1']). */
  iceAllowedAddresses: Type.Optional(Type.Array(Type.String())),
  /** Seconds a peer may stay ICE-disconnected (consent lost) before the session ends (default 10). */
  disconnectTimeoutSeconds: Type.Number({ minimum: 0.1, maximum: 600, default: 10 }),
  /** Seconds from WebSocket open until the peer must be connected (default 20). */
  connectTimeoutSeconds: Type.Number({ minimum: 1, maximum: 600, default: 20 }),
  /** Signalling messages per second tolerated per session, averaged over 1 s bursts (default 50). */
  maxSignalMessagesPerSecond: Type.Integer({ minimum: 1, default: 50 }),
  /** Input messages per second tolerated per session (default 2000). */
  maxInputMessagesPerSecond: Type.Integer({ minimum: 10, default: 2000 }),
  /** Signalling WebSocket upgrades per client address per minute (default 60; past it HTTP 429 RATE_LIMITED). */
  maxUpgradesPerMinute: Type.Integer({ minimum: 1, default: 60 }),
  /** Folder with the built player (dist/player) to serve at `/`; unset serves nothing. */
  staticDir: Type.Optional(Type.String()),
  /** Standalone mode: lifetime of minted session tokens in seconds (default 300). */
  tokenTtlSeconds: Type.Integer({ minimum: 10, default: 300 }),
  /** Standalone mode: price per minute advertised for built-in games (ATH wei, default '0'). */
  pricePerMinute: Type.String({ pattern: '^[0-9]{1,78}$', default: '0' }),
  /** pino log level (default info). */
  logLevel: LogLevel,
  /**
   * Encrypted keystore (Web3 secret-storage v3 JSON) holding the node key; used when `nodePrivateKey` is
   * not given. `farplay-edge init` writes it. The passphrase comes from `keystorePassphrase` or its file.
   */
  keystoreFile: Type.Optional(Type.String({ minLength: 1 })),
  /** Passphrase of `keystoreFile` (prefer `keystorePassphraseFile` or the environment; never logged). */
  keystorePassphrase: Type.Optional(Type.String({ minLength: 1 })),
  /** File whose first line is the passphrase of `keystoreFile`. */
  keystorePassphraseFile: Type.Optional(Type.String({ minLength: 1 })),
  /** Address of the owner key that holds this edge's stake (the key itself is kept offline). */
  ownerAddress: Type.Optional(Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' })),
  /** Capability snapshot signed by the node key (`farplay-edge bench`), sent with each registration. */
  capabilityFile: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * File of the session tokens this edge has used (each works once), kept across restarts and pruned as they
   * expire (`farplay-edge init`: `spent-tokens` beside the config). Unset: in memory only.
   */
  spentTokensFile: Type.Optional(Type.String({ minLength: 1 })),
  /** Folder for downloaded game packages (default .farplay/packages). */
  packageCacheDir: Type.String({ default: '.farplay/packages' }),
  /** Staking chain JSON-RPC URL and id, where the edge's stake and on-chain registration live. */
  stakingRpcUrl: Type.Optional(Type.String({ pattern: '^(https?|wss?)://' })),
  stakingChainId: Type.Integer({ minimum: 1, default: 31337 }),
  /** Payments chain JSON-RPC URL and id, where the escrow holds the edge's earnings. */
  paymentsRpcUrl: Type.Optional(Type.String({ pattern: '^(https?|wss?)://' })),
  paymentsChainId: Type.Integer({ minimum: 1, default: 31338 }),
  /** Folder of contract deployment files `<chainId>-<role>.json` (default .farplay/deployments). */
  deploymentsDir: Type.String({ default: '.farplay/deployments' }),
  /**
   * Where undelivered QoS reports are kept (one append-only file per edge, `<edge id>.jsonl`), so a restart or a
   * crash loses none (default '.farplay/qos-outbox').
   */
  qosOutboxDir: Type.String({ default: '.farplay/qos-outbox' }),
  /**
   * Billing (issue 9): the published QoS policy's period and report grace, ms (the checkers' settings). With
   * `paymentsRpcUrl` and the deployment files, `edge/main.ts` reports each period to the session's checkers and
   * settles the attested minutes.
   */
  qosPeriodMs: Type.Integer({ minimum: 100, default: 60_000 }),
  qosReportGraceMs: Type.Integer({ minimum: 10, default: 10_000 }),
  /**
   * A billed session streams this long (from its first frame) without its grant open at a quorum of its checkers before it is paused
   * (EDGE_GRANT_REQUIRED), ms. The player's report of each period must reach a quorum within `qosReportGraceMs` of
   * the period's close, or the stream is paused (EDGE_PLAYER_REPORTS_MISSING) until it does.
   */
  grantGraceMs: Type.Integer({ minimum: 100, default: 15_000 }),
  /** A settlement round at least this often, ms (default hourly); also at each session's end. */
  settleEveryMs: Type.Integer({ minimum: 1000, default: 3_600_000 }),
});
export type EdgeConfig = Static<typeof EdgeConfig>;
/** Config as given by callers: every field with a default may be left out. */
export type EdgeConfigInput = Partial<EdgeConfig>;

const edgeConfig = defineConfig({
  schema: EdgeConfig,
  envPrefix: 'FARPLAY_EDGE_',
  errorCode: 'EDGE_BAD_CONFIG',
  label: 'edge',
  refine: (config) =>
    config.minVideoBitrateKbps > config.maxVideoBitrateKbps
      ? 'minVideoBitrateKbps > maxVideoBitrateKbps'
      : undefined,
});

/** Field name → env name: `videoBitrateKbps` → `FARPLAY_EDGE_VIDEO_BITRATE_KBPS`. */
export const edgeConfigEnvName = edgeConfig.envName;

/** Parses, defaults and freezes an edge config. Throws FarplayError `EDGE_BAD_CONFIG` naming the field. */
export const parseEdgeConfig = (
  input: EdgeConfigInput | Record<string, unknown> = {},
): Readonly<EdgeConfig> => edgeConfig.parse(input);

/**
 * Reads the JSON config file named by FARPLAY_EDGE_CONFIG_FILE (if set; `farplay-edge init` writes it),
 * then FARPLAY_EDGE_* variables (JSON for arrays/objects), which override the file, into a parsed,
 * frozen config. Relative paths in the file are taken from the file's folder.
 */
export const loadEdgeConfig = (env: Record<string, string | undefined>): Readonly<EdgeConfig> => {
  const file = env[EDGE_CONFIG_FILE_ENV];
  return edgeConfig.fromEnv(env, file ? readEdgeConfigFile(file) : {});
};

/** The environment variable naming the edge's JSON config file. */
export const EDGE_CONFIG_FILE_ENV = 'FARPLAY_EDGE_CONFIG_FILE';

/** Config fields that are file paths: relative ones in a config file are resolved against its folder. */
const PATH_FIELDS = [
  'keystoreFile',
  'keystorePassphraseFile',
  'capabilityFile',
  'packageCacheDir',
  'spentTokensFile',
  'deploymentsDir',
  'qosOutboxDir',
  'staticDir',
] as const;

/** Reads a JSON config file into an object of config fields (not yet validated). */
export function readEdgeConfigFile(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new FarplayError('EDGE_BAD_CONFIG', `edge config file ${file} cannot be read as JSON`, {
      cause,
      details: { file },
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FarplayError('EDGE_BAD_CONFIG', `edge config file ${file} must hold a JSON object`);
  }
  const input = { ...(parsed as Record<string, unknown>) };
  for (const field of PATH_FIELDS) {
    const value = input[field];
    if (typeof value === 'string' && value !== '') input[field] = resolve(dirname(resolve(file)), value);
  }
  return input;
}
