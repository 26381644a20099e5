import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { FarplayError } from '../../protocol/errors.js';
import { MANIFEST_FILE } from './readStudioManifest.js';

/** A packed game folder: the gzip'd tar, its sha256 (the package's address) and how many entries it holds. */
export interface PackedGame {
  archive: Buffer;
  sha256: string;
  entries: number;
}

/**
 * Packs `dir` (without its farplay.json) into a gzip'd tar with system tar, reproducibly: names sorted,
 * owner 0, one mtime, no gzip timestamp, so the same folder always hashes to the same package.
 */
export async function packGameFolder(dir: string): Promise<PackedGame> {
  const args = [
    '--create',
    '--file=-',
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@0',
    '--mode=go-w',
    '--hard-dereference',
    `--exclude=./${MANIFEST_FILE}`,
    '--verbose',
    '-C',
    dir,
    '.',
  ];
  const { stdout, stderr, code } = await new Promise<{ stdout: Buffer; stderr: string; code: number | null }>(
    (resolve, reject) => {
      const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      child.once('error', reject);
      child.once('close', (exitCode) =>
        resolve({ stdout: Buffer.concat(chunks), stderr: err, code: exitCode }),
      );
    },
  ).catch((cause: unknown) => {
    throw new FarplayError('STUDIO_BAD_PACKAGE', 'cannot run tar (is it installed?)', { cause });
  });
  if (code !== 0) throw new FarplayError('STUDIO_BAD_PACKAGE', `tar failed: ${stderr.trim().slice(-300)}`);
  // With --file=- the verbose listing goes to stderr, one line per entry ('./' first).
  const entries = stderr.split('\n').filter((line) => line.startsWith('./') && line !== './').length;
  if (entries === 0) throw new FarplayError('STUDIO_BAD_PACKAGE', `${dir} holds nothing to pack`);
  const archive = gzipSync(stdout, { level: 9 });
  return { archive, sha256: createHash('sha256').update(archive).digest('hex'), entries };
}
