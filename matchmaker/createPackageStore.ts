import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FarplayError } from '../protocol/errors.js';

/** Content-addressed game packages: stored under their sha256 (lower-case hex). */
export interface PackageStore {
  /** Stores `bytes`, returns its sha256 and size; idempotent. */
  put(bytes: Buffer): Promise<{ sha256: string; size: number }>;
  has(sha256: string): Promise<boolean>;
  get(sha256: string): Promise<Buffer | null>;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Packages on disk under `<dataDir>/packages/<sha256>` when `dataDir` is set, else in memory, at most
 * `memoryLimitBytes` in all (default 256 MiB; a new package past it: MM_PACKAGE_STORE_FULL).
 */
export function createPackageStore(dataDir?: string, memoryLimitBytes = 256 * 1024 * 1024): PackageStore {
  if (!dataDir) {
    const memory = new Map<string, Buffer>();
    let stored = 0;
    return {
      async put(bytes) {
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        if (!memory.has(sha256)) {
          if (stored + bytes.length > memoryLimitBytes) {
            throw new FarplayError(
              'MM_PACKAGE_STORE_FULL',
              `packages in memory would exceed ${memoryLimitBytes} bytes (set dataDir to keep them on disk)`,
            );
          }
          memory.set(sha256, Buffer.from(bytes));
          stored += bytes.length;
        }
        return { sha256, size: bytes.length };
      },
      async has(sha256) {
        return memory.has(sha256);
      },
      async get(sha256) {
        return memory.get(sha256) ?? null;
      },
    };
  }
  const dir = join(dataDir, 'packages');
  return {
    async put(bytes) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await mkdir(dir, { recursive: true });
      // Write then rename: a reader never sees a half-written package.
      const tmp = join(dir, `.${sha256}.${process.pid}.${Date.now()}`);
      try {
        await writeFile(tmp, bytes);
        await rename(tmp, join(dir, sha256));
      } catch (error) {
        // A full disk must not leave the partial temporary file behind.
        await rm(tmp, { force: true }).catch(() => {});
        throw error;
      }
      return { sha256, size: bytes.length };
    },
    async has(sha256) {
      if (!SHA256.test(sha256)) return false;
      return stat(join(dir, sha256)).then(
        () => true,
        () => false,
      );
    },
    async get(sha256) {
      if (!SHA256.test(sha256)) return null;
      return readFile(join(dir, sha256)).catch(() => null);
    },
  };
}
