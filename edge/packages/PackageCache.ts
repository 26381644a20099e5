import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LocalAccount } from 'viem';
import { FarplayError } from '../../protocol/errors.js';
import { PACKAGE_AUTH_HEADER, signPackageDownload } from '../../protocol/packageDownload.js';
import { unpackTar } from './unpackTar.js';

/** Options of a PackageCache. */
export interface PackageCacheOptions {
  /** Folder of the cache (made if missing). */
  dir: string;
  /** Base URL of the matchmaker the packages are downloaded from (GET /v1/packages/:sha256). */
  matchmakerUrl: string;
  /**
   * The edge's node key and the matchmaker's deployment: each download is signed with them
   * (protocol/packageDownload.ts); the matchmaker serves packages to registered edges only.
   */
  auth: { account: LocalAccount; deployment: string };
  /** Most bytes of unpacked packages kept; least recently used ones not in use go first (default 10 GiB). */
  maxBytes?: number;
  /** Largest package download, bytes (default 512 MiB). */
  maxDownloadBytes?: number;
  /** Largest unpacked package, bytes (default 2 GiB). */
  maxUnpackedBytes?: number;
  /** Download timeout, ms (default 120 s). */
  downloadTimeoutMs?: number;
  logger?: Logger;
}

/** A package held for a session: its unpacked folder, until `release()`. */
export interface PackageLease {
  sha256: string;
  /** The unpacked package (read-only for the game). */
  dir: string;
  /** Lets the cache evict the package again; idempotent. */
  release(): void;
}

interface Entry {
  sha256: string;
  dir: string;
  bytes: number;
  lastUsed: number;
  users: number;
}

const SHA256 = /^[0-9a-f]{64}$/;
const META = '.farplay-package.json';

/**
 * Studio packages on this edge's disk: downloaded from the matchmaker on first use, checked against their
 * sha256 before anything else touches them, unpacked safely (unpackTar) and kept under an LRU bound on
 * bytes. Concurrent first uses of one package download it once. A package whose bytes do not hash to
 * its name is refused (EDGE_PACKAGE_HASH_MISMATCH) and never unpacked, let alone run.
 */
export class PackageCache {
  readonly #options: PackageCacheOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<Entry>>();
  #opened: Promise<void> | undefined;

  constructor(options: PackageCacheOptions) {
    this.#options = options;
  }

  /** Bytes of unpacked packages on disk. */
  get bytes(): number {
    let total = 0;
    for (const e of this.#entries.values()) total += e.bytes;
    return total;
  }

  /** The sha256 of every package held on disk (what the edge can advertise). */
  async list(): Promise<string[]> {
    await this.#open();
    return [...this.#entries.keys()];
  }

  /** Holds package `sha256` for a session, downloading and unpacking it on first use. */
  async acquire(sha256: string): Promise<PackageLease> {
    if (!SHA256.test(sha256)) throw new FarplayError('BAD_REQUEST', `not a sha256: ${sha256}`);
    await this.#open();
    let entry = this.#entries.get(sha256);
    if (!entry) {
      let loading = this.#loading.get(sha256);
      if (!loading) {
        loading = this.#fetch(sha256).finally(() => this.#loading.delete(sha256));
        this.#loading.set(sha256, loading);
      }
      entry = await loading;
    }
    const held = entry;
    held.users++;
    held.lastUsed = Date.now();
    void writeFile(
      join(held.dir, META),
      JSON.stringify({ bytes: held.bytes, lastUsed: held.lastUsed }),
    ).catch(() => undefined);
    let released = false;
    return {
      sha256,
      dir: join(held.dir, 'files'),
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        void this.#evict();
      },
    };
  }

  #open(): Promise<void> {
    this.#opened ??= (async () => {
      await mkdir(this.#options.dir, { recursive: true });
      for (const name of await readdir(this.#options.dir)) {
        const dir = join(this.#options.dir, name);
        if (!SHA256.test(name)) {
          // A download or unpack that did not finish (the edge stopped mid-way).
          if (name.startsWith('.partial-')) await rm(dir, { recursive: true, force: true });
          continue;
        }
        try {
          const meta = JSON.parse(await readFile(join(dir, META), 'utf8')) as {
            bytes: number;
            lastUsed: number;
          };
          this.#entries.set(name, {
            sha256: name,
            dir,
            bytes: meta.bytes,
            lastUsed: meta.lastUsed,
            users: 0,
          });
        } catch {
          await rm(dir, { recursive: true, force: true });
        }
      }
    })();
    return this.#opened;
  }

  async #fetch(sha256: string): Promise<Entry> {
    const log = this.#options.logger?.child({ sha256 });
    const archive = await this.#download(sha256);
    const partial = join(this.#options.dir, `.partial-${randomBytes(6).toString('hex')}`);
    try {
      const { bytes, files } = await unpackTar(archive, join(partial, 'files'), {
        maxBytes: this.#options.maxUnpackedBytes ?? 2 * 1024 ** 3,
      });
      const lastUsed = Date.now();
      await writeFile(join(partial, META), JSON.stringify({ bytes, lastUsed }));
      const dir = join(this.#options.dir, sha256);
      await rename(partial, dir);
      const entry: Entry = { sha256, dir, bytes, lastUsed, users: 0 };
      this.#entries.set(sha256, entry);
      log?.info({ bytes, files }, 'package cached');
      await this.#evict(sha256);
      return entry;
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      throw error;
    }
  }

  async #download(sha256: string): Promise<Buffer> {
    const url = new URL(`/v1/packages/${sha256}`, this.#options.matchmakerUrl);
    const limit = this.#options.maxDownloadBytes ?? 512 * 1024 ** 2;
    let response: Response;
    try {
      const { account, deployment } = this.#options.auth;
      response = await fetch(url, {
        headers: { [PACKAGE_AUTH_HEADER]: await signPackageDownload(account, deployment, sha256) },
        signal: AbortSignal.timeout(this.#options.downloadTimeoutMs ?? 120_000),
      });
    } catch (cause) {
      throw new FarplayError('EDGE_PACKAGE_UNAVAILABLE', `cannot reach ${url.origin}`, { cause });
    }
    if (!response.ok || !response.body) {
      const code = ((await response.json().catch(() => undefined)) as { code?: string } | undefined)?.code;
      throw new FarplayError(
        'EDGE_PACKAGE_UNAVAILABLE',
        `the matchmaker answered ${response.status} ${code ?? ''}`,
        {
          details: { sha256, status: response.status, ...(code ? { code } : {}) },
        },
      );
    }
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        size += chunk.length;
        if (size > limit) {
          throw new FarplayError('EDGE_PACKAGE_UNSAFE', `the package is larger than ${limit} bytes`);
        }
        hash.update(chunk);
        chunks.push(Buffer.from(chunk));
      }
    } catch (cause) {
      if (cause instanceof FarplayError) throw cause;
      throw new FarplayError('EDGE_PACKAGE_UNAVAILABLE', 'the package download broke off', { cause });
    }
    const got = hash.digest('hex');
    if (got !== sha256) {
      this.#options.logger?.warn({ sha256, got }, 'package refused: its bytes do not match its sha256');
      throw new FarplayError('EDGE_PACKAGE_HASH_MISMATCH', undefined, { details: { expected: sha256, got } });
    }
    return Buffer.concat(chunks, size);
  }

  /** Removes least recently used packages nobody holds until the cache fits (never `keep`). */
  async #evict(keep?: string): Promise<void> {
    const max = this.#options.maxBytes ?? 10 * 1024 ** 3;
    const idle = [...this.#entries.values()]
      .filter((e) => e.users === 0 && e.sha256 !== keep)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    let total = this.bytes;
    for (const e of idle) {
      if (total <= max) break;
      this.#entries.delete(e.sha256);
      total -= e.bytes;
      this.#options.logger?.info({ sha256: e.sha256, bytes: e.bytes }, 'package evicted');
      await rm(e.dir, { recursive: true, force: true });
    }
  }
}
