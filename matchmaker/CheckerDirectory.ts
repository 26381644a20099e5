import type { CheckerEndpoint } from '../contracts-client/src/checkers.js';

/** Reads the registered checkers and their published endpoints (the chain's CheckerRegistry). */
export type ReadCheckers = () => Promise<CheckerEndpoint[]>;

export interface CheckerDirectoryOptions {
  read: ReadCheckers;
  /** How often the registry is read again, ms. */
  refreshMs: number;
  /** Told when a read fails (the last list stays in use). */
  onError?: (error: unknown) => void;
}

/** A base URL as the matchmaker hands it out: http(s) only, no trailing slash; undefined when not usable. */
function normaliseEndpoint(endpoint: string): string | undefined {
  try {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return endpoint.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

/**
 * The checkers sessions are assigned from, as the on-chain CheckerRegistry lists them: each registered checker with
 * the endpoint it published there (`CheckerRegistry.setEndpoint`). Cached, read again every `refreshMs`; a failed
 * read keeps the last list. A checker removed from the registry (or without a usable endpoint) is not assigned
 * after the next read.
 */
export class CheckerDirectory {
  readonly #options: CheckerDirectoryOptions;
  #urls: readonly string[] = [];
  #addresses: ReadonlySet<string> = new Set();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: CheckerDirectoryOptions) {
    this.#options = options;
  }

  /** The endpoints of the registered checkers at the last read (registry order: addresses ascending). */
  get urls(): readonly string[] {
    return this.#urls;
  }

  /** The registered checkers' addresses (lower case) at the last read, endpoint or not. */
  get addresses(): ReadonlySet<string> {
    return this.#addresses;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Reads the registry now; throws when the read fails (the last list stays). */
  async refresh(): Promise<readonly string[]> {
    const listed = await this.#options.read();
    const urls: string[] = [];
    for (const { endpoint } of listed) {
      const url = normaliseEndpoint(endpoint);
      if (url !== undefined && !urls.includes(url)) urls.push(url);
    }
    this.#urls = urls;
    this.#addresses = new Set(listed.map((c) => c.checker.toLowerCase()));
    return urls;
  }

  /** First read (a failure is reported, not thrown: the loop reads again), then the refresh loop. */
  async start(): Promise<void> {
    if (this.#closed || this.#timer !== undefined) return;
    const read = () => this.refresh().catch((error: unknown) => this.#options.onError?.(error));
    await read();
    this.#timer = setInterval(read, this.#options.refreshMs);
    this.#timer.unref();
  }

  /** Stops the refresh loop. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
