/** Stable codes of netlab errors (test tooling; they never cross a process boundary). */
export type NetLabErrorCode =
  | 'NETLAB_UNSUPPORTED'
  | 'NETLAB_BAD_CONFIG'
  | 'NETLAB_SETUP_FAILED'
  | 'NETLAB_CLOSED';

/** The one error netlab throws, with a stable code. */
export class NetLabError extends Error {
  override name = 'NetLabError';
  readonly code: NetLabErrorCode;
  constructor(code: NetLabErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
  }
}
