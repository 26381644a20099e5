/**
 * The one catalogue of error codes that cross a process boundary (HTTP, WebSocket,
 * data channel, contract reverts mapped by the client). Every code has an HTTP status
 * and a one-line meaning; docs/errors.md is generated from this table.
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

  // --- matchmaker (MM_*) ---

  // --- contracts-client (CHAIN_*) ---
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
