import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Session tokens already used on this edge (issue 8: a token works once). A token is spent when its session
 * is admitted and stays spent until it could no longer pass verification anyway (its expiry plus the clock
 * skew verification tolerates, with a margin), so a token reused after its session ended — or by someone who
 * copied it — is refused with `EDGE_TOKEN_USED`.
 *
 * With a `file` (`spentTokensFile`; `farplay-edge init` puts it beside the config) the spent tokens survive a
 * restart: each spend appends one line `<sid> <until ms>` (small and synchronous, before the session is
 * admitted), the file is read back at start, and it is rewritten without the expired lines once they are the
 * most of it. Without a file they live in memory only, and a token still within its lifetime (`tokenTtlSeconds`)
 * could be used once more after a restart.
 */
export class SpentTokens {
  /** Session id → unix ms until which it stays spent. */
  readonly #spent = new Map<string, number>();
  readonly #marginMs: number;
  readonly #file: string | undefined;
  /** Lines in the file (live and expired). */
  #lines = 0;
  #nextSweep = 0;

  /** `marginMs`: how long past `exp` a token is remembered (default 60 s, above any verification skew). */
  constructor(options: { marginMs?: number; file?: string | undefined; now?: number } = {}) {
    this.#marginMs = options.marginMs ?? 60_000;
    this.#file = options.file;
    if (this.#file) this.#load(this.#file, options.now ?? Date.now());
  }

  /** How many tokens are remembered. */
  get size(): number {
    return this.#spent.size;
  }

  /** True when the token of session `sid` was used before (and is still remembered). */
  has(sid: string, now: number = Date.now()): boolean {
    const until = this.#spent.get(sid);
    return until !== undefined && until > now;
  }

  /** Marks the token of `sid` (expiring at `expSeconds`, unix s) used; forgets tokens long expired. */
  spend(sid: string, expSeconds: number, now: number = Date.now()): void {
    const until = expSeconds * 1000 + this.#marginMs;
    this.#spent.set(sid, until);
    if (this.#file) {
      // Ids are one token-signed line each (no whitespace in what the matchmaker mints); encode to be sure.
      appendFileSync(this.#file, `${encodeURIComponent(sid)} ${until}\n`);
      this.#lines++;
    }
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 1000;
    for (const [id, t] of this.#spent) if (t <= now) this.#spent.delete(id);
    if (this.#file && this.#lines > 64 && this.#lines > 2 * this.#spent.size) this.#rewrite(this.#file);
  }

  #load(file: string, now: number): void {
    mkdirSync(dirname(file), { recursive: true });
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      const [id, until] = line.split(' ');
      const t = Number(until);
      if (!id || !Number.isFinite(t) || t <= now) continue;
      const sid = decodeURIComponent(id);
      this.#spent.set(sid, Math.max(t, this.#spent.get(sid) ?? 0));
    }
    this.#rewrite(file);
  }

  /** Writes the live entries to a new file and renames it over the old one (never a torn file). */
  #rewrite(file: string): void {
    const partial = `${file}.partial`;
    let body = '';
    for (const [sid, until] of this.#spent) body += `${encodeURIComponent(sid)} ${until}\n`;
    writeFileSync(partial, body, { mode: 0o600 });
    renameSync(partial, file);
    this.#lines = this.#spent.size;
  }
}
