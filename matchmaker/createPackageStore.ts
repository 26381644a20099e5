import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Content-addressed game packages: stored under their sha256 (lower-case hex). */
export interface PackageStore {
  /** Stores `bytes`, returns its sha256 and size; idempotent. */
  put(bytes: Buffer): Promise<{ sha256: string; size: number }>;
  has(sha256: string): Promise<boolean>;
  get(sha256: string): Promise<Buffer | null>;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Packages on disk under `<dataDir>/packages/<sha256>` when `dataDir` is set, else in memory. */
export function createPackageStore(dataDir?: string): PackageStore {
  if (!dataDir) {
    const memory = new Map<string, Buffer>();
    return {
      async put(bytes) {
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        memory.set(sha256, Buffer.from(bytes));
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
