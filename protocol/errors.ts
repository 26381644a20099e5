/**
 * The one catalogue of error codes that cross a process boundary (HTTP, WebSocket,
 * data channel, contract reverts mapped by the client). Every code has an HTTP status
 * and a one-line meaning; docs/errors.md is generated from this table (scripts/errorDocs.ts).
 *
 * Sections are per part; add codes to your part's section only.
 */
export const ErrorCodes = {
  // --- common ---
  BAD_REQUEST: { status: 400, message: 'The request does not match its schema.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body or message is larger than allowed.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; slow down.' },
  NOT_FOUND: { status: 404, message: 'No such route or resource.' },
  INTERNAL: { status: 500, message: 'An unexpected error; it has been logged.' },

  // --- edge (EDGE_*) ---
  EDGE_BAD_TOKEN: {
    status: 401,
    message: 'The session token is missing, malformed, badly signed or for another edge.',
  },
  EDGE_TOKEN_EXPIRED: {
    status: 401,
    message: 'The session token has expired; ask the matchmaker for a new session.',
  },
  EDGE_BAD_INPUT: { status: 400, message: 'An input data-channel message is malformed.' },
  EDGE_BAD_MESSAGE: {
    status: 400,
    message:
      'A signalling message is not JSON, does not match its schema, or asks for more than the edge allows.',
  },
  EDGE_BAD_SDP: { status: 400, message: 'The SDP offer or answer cannot be used.' },
  EDGE_MESSAGE_TOO_LARGE: { status: 413, message: 'A signalling message is larger than 64 KiB.' },
  EDGE_FLOOD: { status: 429, message: 'Too many signalling or input messages; the session was closed.' },
  EDGE_FULL: { status: 503, message: 'The edge has no free session slot.' },
  EDGE_SESSION_IN_USE: { status: 409, message: 'This session is already connected to the edge.' },
  EDGE_TOKEN_USED: {
    status: 409,
    message:
      'This session token has been used before; a token opens one session once. Ask for a new session.',
  },
  EDGE_UNKNOWN_GAME: { status: 404, message: 'The edge does not have this game.' },
  EDGE_NO_ENCODER: { status: 503, message: 'No H.264 encoder works on this edge.' },
  EDGE_ENCODER_FAILED: { status: 500, message: 'The video or audio encoder failed.' },
  EDGE_PEER_FAILED: {
    status: 502,
    message: 'The WebRTC connection failed (ICE/DTLS failure or consent lost).',
  },
  EDGE_BAD_CONFIG: { status: 500, message: 'The edge configuration is invalid.' },
  EDGE_OPERATOR_ONLY: {
    status: 403,
    message: 'This route is for the edge operator: it answers only on the edge machine itself (loopback).',
  },
  EDGE_GAME_UNSUPPORTED: {
    status: 503,
    message:
      'This edge cannot run native games (Xvfb, bubblewrap or PulseAudio is missing) or not this runtime.',
  },
  EDGE_GAME_START_FAILED: {
    status: 500,
    message: 'The native game could not be started (virtual display, sandbox, audio or capture failed).',
  },
  EDGE_GAME_CRASHED: {
    status: 500,
    message: 'The native game crashed (killed by a signal); the session ended.',
  },
  EDGE_GAME_EXITED: { status: 410, message: 'The native game exited on its own; the session ended.' },
  EDGE_PLAYER_REPORTS_MISSING: {
    status: 402,
    message:
      'The stream is paused: the player’s QoS report for the last period has not reached a quorum of the session’s checkers in time. It resumes when the report arrives.',
  },
  EDGE_GRANT_REQUIRED: {
    status: 402,
    message:
      'The stream is paused: no grant naming this edge is open at a quorum of the session’s checkers. It resumes when the page’s grant is accepted.',
  },
  EDGE_PACKAGE_UNAVAILABLE: {
    status: 502,
    message: 'The game package could not be downloaded from the matchmaker.',
  },
  EDGE_PACKAGE_HASH_MISMATCH: {
    status: 502,
    message: 'The downloaded game package does not hash to its published sha256; it was refused.',
  },
  EDGE_PACKAGE_UNSAFE: {
    status: 422,
    message:
      'The game package is not a tar archive the edge unpacks safely (a path or link out of its folder, a device, or too large).',
  },

  // --- matchmaker (MM_*) ---
  MM_BAD_SIGNATURE: { status: 401, message: 'The edge message is not signed by the edge it names.' },
  MM_STALE_MESSAGE: { status: 400, message: 'The edge message was issued too long ago or in the future.' },
  MM_REPLAY: { status: 409, message: 'This edge message (nonce) has been seen before.' },
  MM_PACKAGE_FORBIDDEN: {
    status: 403,
    message:
      'Only a registered edge (a signed request) or a player with a session token of a game using this package may download it.',
  },
  MM_WRONG_DEPLOYMENT: {
    status: 403,
    message: 'The edge message is signed for another matchmaker deployment (another session-token key).',
  },
  MM_UNKNOWN_EDGE: { status: 404, message: 'No live edge with this id; register first.' },
  MM_NOT_A_CHECKER: {
    status: 403,
    message:
      'Probe sessions are for the checkers this matchmaker assigns (the CheckerRegistry); this key is not one.',
  },
  MM_PROBE_TOO_SOON: {
    status: 429,
    message:
      'This checker probed this edge too recently (one probe session per checker and edge per probe interval).',
  },
  MM_UNKNOWN_GAME: { status: 404, message: 'No such game in the catalogue.' },
  MM_UNKNOWN_SESSION: { status: 404, message: 'No such session (it ended, expired or never existed).' },
  MM_NOT_SESSION_EDGE: { status: 403, message: 'The session is allocated to another edge.' },
  MM_NO_CAPACITY: { status: 503, message: 'No edge has a free slot for this game right now; retry shortly.' },
  MM_BAD_API_KEY: { status: 401, message: 'Missing or unknown studio API key.' },
  MM_FORBIDDEN: { status: 403, message: 'This game belongs to another studio.' },
  MM_UNKNOWN_PACKAGE: { status: 404, message: 'No package with this sha256 has been uploaded.' },
  MM_BAD_CONFIG: { status: 500, message: 'The matchmaker configuration is invalid.' },
  MM_NO_CHECKERS: {
    status: 503,
    message:
      'Sessions here are billed, but no checker is registered with a published endpoint right now; retry shortly.',
  },
  MM_PACKAGE_MISMATCH: { status: 400, message: 'The uploaded package does not hash to the sha256 given.' },
  MM_PACKAGE_STORE_FULL: {
    status: 507,
    message: 'The matchmaker keeps no more packages in memory; its operator should give it a data directory.',
  },
  MM_NOT_SESSION_OWNER: {
    status: 403,
    message: 'The act on this session is not signed by its session key (or the session has no key).',
  },
  MM_SESSION_REPLAY: { status: 409, message: 'This session proof (nonce) has been used before.' },
  MM_RESERVATION_LIMIT: {
    status: 429,
    message: 'This session key or client address already holds the most unconnected reservations allowed.',
  },
  MM_TOO_MANY_WATCHERS: { status: 429, message: 'This session already has the most events sockets allowed.' },
  MM_STORE_UNAVAILABLE: {
    status: 503,
    message: 'The matchmaker’s store (Redis) is unreachable; retry shortly.',
  },
  MM_OPERATOR_ONLY: {
    status: 403,
    message: 'This route is for the operator: send the operator token, or ask from the matchmaker machine.',
  },
  MM_RESERVED_GAME_ID: { status: 403, message: 'This game id is reserved for a built-in game.' },
  MM_PAYMENT_REQUIRED: {
    status: 402,
    message: 'This network is paid: the session request must name the payer wallet (payer).',
  },
  MM_BAD_GRANT: {
    status: 400,
    message:
      'The grant does not name this session, its edge and session key, or is not signed by its player.',
  },
  MM_INSUFFICIENT_DEPOSIT: {
    status: 402,
    message: 'The payer’s available escrow deposit does not cover price × max minutes of a session.',
  },
  MM_BAD_GAME: { status: 400, message: 'The game manifest’s title or description is not acceptable text.' },
  MM_EDGE_NOT_STAKED: {
    status: 403,
    message: 'The edge has no active stake (at least the minimum) in the staking registry.',
  },
  MM_CAPACITY_TOO_HIGH: {
    status: 400,
    message: 'The registration declares more concurrent sessions than this matchmaker allows an edge.',
  },

  // --- checker (CHECKER_*) ---
  CHECKER_BAD_SIGNATURE: {
    status: 401,
    message:
      "A QoS report's signature does not recover to the session's edge (node key) or player (the grant's session key).",
  },
  CHECKER_BAD_REPORT: {
    status: 400,
    message:
      'A QoS report is malformed: an edge report without its report signature, or a malleable (high-s) signature.',
  },
  CHECKER_WRONG_SESSION: {
    status: 403,
    message: 'The report names another session than the one it is posted to.',
  },
  CHECKER_UNKNOWN_SESSION: {
    status: 404,
    message: 'The checker has no such session; open it with the grant first (POST /v1/sessions).',
  },
  CHECKER_BAD_GRANT: {
    status: 422,
    message: 'The grant is not signed by its player for this escrow, has expired, or allows no minutes.',
  },
  CHECKER_GRANT_CONFLICT: {
    status: 409,
    message: 'Another grant is already open for this session id; a checker attests one grant per session.',
  },
  CHECKER_REPLAY: { status: 409, message: 'This report has already been accepted.' },
  CHECKER_EQUIVOCATION: {
    status: 409,
    message:
      'A different report for this minute from the same side was already accepted; both are kept as evidence (an edge’s is slashing evidence).',
  },
  CHECKER_CHAIN_BROKEN: {
    status: 409,
    message:
      "The report's previous-report hash is not the last report accepted from this side (send the missing reports first, in order).",
  },
  CHECKER_LATE: {
    status: 409,
    message:
      'This minute was already decided; the report is kept for the chain but cannot change the verdict.',
  },
  CHECKER_EARLY: { status: 425, message: 'This minute has not closed yet for this session.' },
  CHECKER_STALE: {
    status: 400,
    message: "The report's closing time is too far from the checker's clock.",
  },
  CHECKER_BEYOND_GRANT: { status: 422, message: 'The minute is beyond the grant’s maximum minutes.' },
  CHECKER_PROBE_FAILED: {
    status: 502,
    message:
      'A checker’s probe of an edge failed: no probe token, the edge refused the probe session, no frame arrived, or the stream contradicts what the edge claims (kept as evidence).',
  },
  CHECKER_PROBE_TIMEOUT: {
    status: 504,
    message: 'A checker’s probe of an edge got no answer in time (kept as evidence).',
  },
  CHECKER_BAD_CONFIG: { status: 500, message: 'The checker configuration is invalid.' },
  CHECKER_NOT_REFUTED: {
    status: 409,
    message:
      'This checker has not recorded a refuted claim for that minute (not decided yet, or its reports differ): it signs no slash order for it.',
  },
  CHECKER_NOT_ATTESTED: {
    status: 409,
    message: 'This checker has not attested that many minutes under that grant for a session of the batch.',
  },

  // --- contracts-client (CHAIN_*) ---
  CHAIN_UNAVAILABLE: { status: 503, message: 'The chain node (RPC) did not answer.' },
  CHAIN_NO_DEPLOYMENT: { status: 500, message: 'No contract deployment is recorded for this chain.' },
  CHAIN_BAD_CONFIG: { status: 500, message: 'The chain configuration is invalid.' },
  CHAIN_REVERTED: { status: 422, message: 'The contract refused the transaction.' },
  CHAIN_GRANT_EXPIRED: { status: 422, message: 'The grant has expired and can no longer be settled.' },
  CHAIN_BAD_SIGNATURE: {
    status: 422,
    message:
      'A signature does not recover to the expected signer (or was made for another chain or contract).',
  },
  CHAIN_BEYOND_GRANT: { status: 422, message: 'The attested minutes exceed the grant’s maximum minutes.' },
  CHAIN_NOTHING_TO_SETTLE: { status: 409, message: 'These minutes are already paid; nothing new to settle.' },
  CHAIN_INSUFFICIENT_BALANCE: {
    status: 402,
    message: 'The player’s escrow balance cannot cover the amount.',
  },
  CHAIN_BELOW_QUORUM: { status: 422, message: 'Fewer checker signatures than the quorum.' },
  CHAIN_SIGNERS_UNSORTED: {
    status: 422,
    message: 'Checker signers must be strictly ascending by address (no duplicates).',
  },
  CHAIN_NOT_CHECKER: {
    status: 422,
    message: 'A signature is not from a current checker (or signs other data).',
  },
  CHAIN_STALE_CHECKER_SET: {
    status: 409,
    message: 'The checker set passed is not the registry’s current one.',
  },
  CHAIN_WITHDRAWAL_LOCKED: { status: 409, message: 'The withdrawal is still inside its unlock delay.' },
  CHAIN_WITHDRAWAL_EXPIRED: {
    status: 409,
    message: 'The withdrawal request’s claim window has passed; request again and wait out the delay.',
  },
  CHAIN_NO_WITHDRAWAL: { status: 409, message: 'No withdrawal was requested.' },
  CHAIN_STILL_UNBONDING: { status: 409, message: 'The stake is still inside its unbonding delay.' },
  CHAIN_STAKE_TOO_LOW: {
    status: 422,
    message: 'The stake is below the minimum or larger than the shares held.',
  },
  CHAIN_UNKNOWN_EDGE: {
    status: 404,
    message: 'The edge is not registered in the staking registry, or inactive.',
  },
  CHAIN_INVALID_EVIDENCE: {
    status: 422,
    message:
      'The slashing evidence is not two different reports signed by the edge for one minute (or, for a refuted claim, not the edge’s signed report of the order’s session and minute).',
  },
  CHAIN_INVALID_PLAYER_REPORT: {
    status: 422,
    message:
      'The player’s report is not signed by the session key the slash order names, or is not the order’s session and minute.',
  },
  CHAIN_NOT_REFUTED: {
    status: 422,
    message: 'The player’s signed frame count is not below the edge’s claim: nothing is refuted.',
  },
  CHAIN_EVIDENCE_USED: { status: 409, message: 'This evidence has already been used to slash.' },
  CHAIN_SLASH_EXPIRED: { status: 409, message: 'The slash order’s deadline has passed.' },
  CHAIN_ENDPOINT_TOO_LONG: {
    status: 422,
    message: 'The checker endpoint URL is longer than the CheckerRegistry takes (MAX_ENDPOINT bytes).',
  },
  CHAIN_POOL_DEPLETED: {
    status: 409,
    message: 'The edge’s stake pool was slashed (almost) to nothing and takes no new stake.',
  },
  CHAIN_MALFORMED_SIGNATURE: {
    status: 422,
    message: 'A signature is not 65 bytes, or not in the canonical low-s form the contracts accept.',
  },
  CHAIN_NOT_AUTHORIZED: { status: 403, message: 'Only the owner (timelock) may do this.' },

  // --- operator tooling and capability snapshots (OPERATOR_*) ---
  OPERATOR_BAD_KEYSTORE: {
    status: 400,
    message: 'The keystore file is not a v3 scrypt keystore, or its address does not match its key.',
  },
  OPERATOR_BAD_PASSPHRASE: {
    status: 401,
    message: 'The keystore passphrase is wrong (or the keystore file is damaged).',
  },
  OPERATOR_NO_PASSPHRASE: {
    status: 400,
    message:
      'The keystore needs its passphrase: set FARPLAY_EDGE_KEYSTORE_PASSPHRASE or FARPLAY_EDGE_KEYSTORE_PASSPHRASE_FILE.',
  },
  OPERATOR_ALREADY_INITIALIZED: {
    status: 409,
    message: 'A config or key already exists there; init never overwrites keys (pick another --dir).',
  },
  OPERATOR_NOT_INITIALIZED: {
    status: 400,
    message: 'No edge config found: run `farplay-edge init` or pass --config / FARPLAY_EDGE_CONFIG_FILE.',
  },
  OPERATOR_BAD_CAPABILITY: {
    status: 400,
    message:
      'The capability snapshot is malformed, not signed by this edge, or its nonce was not issued by this network or has expired.',
  },
  OPERATOR_CAPACITY_ABOVE_MEASURED: {
    status: 400,
    message: 'The registration declares more sessions than the edge’s signed capability snapshot measured.',
  },
  OPERATOR_MATCHMAKER_UNREACHABLE: { status: 502, message: 'The matchmaker did not answer.' },
  OPERATOR_PROBE_NOT_READY: { status: 503, message: 'The matchmaker’s UDP probe is not listening yet.' },
  OPERATOR_WRONG_CHAIN: {
    status: 400,
    message: 'The chain RPC serves another chain id than the config names.',
  },
  OPERATOR_NOT_ENOUGH_ATH: {
    status: 402,
    message: 'The owner key holds less ATH than the stake asked for.',
  },
  OPERATOR_BELOW_MIN_STAKE: {
    status: 400,
    message: 'The stake asked for is below the staking registry’s minimum stake.',
  },
  OPERATOR_OWNED_ELSEWHERE: {
    status: 409,
    message: 'This node key is registered on chain under another owner key.',
  },
  OPERATOR_NOT_REGISTERED: {
    status: 409,
    message: 'This edge is not registered on the staking chain: run `farplay-edge stake` first.',
  },
  OPERATOR_SERVICE_BAD_PATH: {
    status: 400,
    message: 'A path or name cannot go into the systemd unit (not absolute, or holds blanks or quotes).',
  },
  OPERATOR_SERVICE_NOT_WRITABLE: {
    status: 403,
    message: 'The systemd unit folder is not writable: run `service install` as root or pass --unit-dir.',
  },

  // --- studio tooling (STUDIO_*, `farplay studio`) ---
  STUDIO_NOT_LOGGED_IN: {
    status: 401,
    message: 'No studio API key: run `farplay studio login` (or set FARPLAY_STUDIO_API_KEY).',
  },
  STUDIO_BAD_MANIFEST: {
    status: 400,
    message: 'The game folder’s farplay.json is missing or invalid; the message names the field.',
  },
  STUDIO_BAD_PACKAGE: {
    status: 400,
    message: 'The game folder cannot be packed (missing, empty, or its command names no file in it).',
  },
  STUDIO_MATCHMAKER_UNREACHABLE: { status: 502, message: 'The matchmaker did not answer.' },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable error code from the catalogue. */
export type ErrorCode = keyof typeof ErrorCodes;

/** The JSON body of every error answer over HTTP, and the `error` message over WebSocket. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/**
 * Base error of every Farplay part: a short message, a stable code, optional details and a cause.
 * Code that handles errors inspects `code` or walks `cause` (see `findError`), never the message text.
 */
export class FarplayError extends Error {
  override name = 'FarplayError';
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message ?? ErrorCodes[code].message, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** HTTP status that goes with this error's code. */
  get status(): number {
    return ErrorCodes[this.code].status;
  }

  /** The wire form of this error. */
  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

/** Walks `error` and its `cause` chain and returns the first FarplayError with `code` (any code if omitted). */
export function findError(error: unknown, code?: ErrorCode): FarplayError | undefined {
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 16; depth++) {
    if (current instanceof FarplayError && (code === undefined || current.code === code)) return current;
    current = current instanceof Error ? current.cause : undefined;
  }
  return undefined;
}

/**
 * Any thrown value → a FarplayError with a catalogue code: a FarplayError anywhere in the cause chain as is;
 * HTTP-framework errors by their status (schema validation → BAD_REQUEST, 413 → PAYLOAD_TOO_LARGE,
 * 429 → RATE_LIMITED, 404 → NOT_FOUND, other 4xx → BAD_REQUEST); anything else INTERNAL with the cause kept.
 */
export function toFarplayError(error: unknown): FarplayError {
  const known = findError(error);
  if (known) return known;
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    validation?: unknown;
    statusCode?: unknown;
    code?: unknown;
    message?: unknown;
  };
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : undefined;
  if (e.validation) return new FarplayError('BAD_REQUEST', message, { details: e.validation });
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413)
    return new FarplayError('PAYLOAD_TOO_LARGE');
  if (e.code === 'RATE_LIMITED' || e.statusCode === 429) return new FarplayError('RATE_LIMITED', message);
  if (e.statusCode === 404) return new FarplayError('NOT_FOUND', message);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new FarplayError('BAD_REQUEST', message);
  }
  return new FarplayError('INTERNAL', undefined, { cause: error });
}

/** The wire body for any thrown value (see `toFarplayError`). */
export function toErrorBody(error: unknown): ErrorBody {
  return toFarplayError(error).toBody();
}
