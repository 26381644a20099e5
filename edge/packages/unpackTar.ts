import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, posix, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FarplayError } from '../../protocol/errors.js';

/** Limits of `unpackTar`. */
export interface UnpackTarLimits {
  /** Most bytes of file content unpacked (default 2 GiB). */
  maxBytes?: number;
  /** Most entries (default 100,000). */
  maxEntries?: number;
}

/** What `unpackTar` wrote. */
export interface UnpackTarResult {
  files: number;
  bytes: number;
}

const BLOCK = 512;

/**
 * Unpacks a tar archive (ustar, GNU long names, pax paths; gzip-compressed or not) into `dir`, refusing
 * anything that could reach outside it: absolute paths, `..`, links whose target leaves the folder, hard
 * links, devices and FIFOs, and more than the limits. Files keep their owner's execute bit only (no
 * setuid, no foreign owner). Symbolic links are made last, so no entry is ever written through one.
 * Throws EDGE_PACKAGE_UNSAFE; `dir` may then hold a partial tree for the caller to remove.
 */
export async function unpackTar(
  archive: Buffer,
  dir: string,
  limits: UnpackTarLimits = {},
): Promise<UnpackTarResult> {
  const maxBytes = limits.maxBytes ?? 2 * 1024 ** 3;
  const maxEntries = limits.maxEntries ?? 100_000;
  let data = archive;
  if (archive[0] === 0x1f && archive[1] === 0x8b) {
    try {
      data = gunzipSync(archive, { maxOutputLength: maxBytes + maxEntries * BLOCK * 2 + 1024 * 1024 });
    } catch (cause) {
      throw unsafe('the package is not valid gzip, or unpacks larger than allowed', cause);
    }
  }
  await mkdir(dir, { recursive: true });
  const links: { path: string; target: string }[] = [];
  let offset = 0;
  let entries = 0;
  let bytes = 0;
  let files = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= data.length) {
    const header = data.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header)) throw unsafe(`bad tar header at byte ${offset}`);
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] ?? 0);
    const bodyStart = offset + BLOCK;
    const body = data.subarray(bodyStart, bodyStart + size);
    if (body.length < size) throw unsafe('the tar archive is truncated');
    offset = bodyStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = cString(body);
      continue;
    }
    if (type === 'x') {
      paxPath = paxField(body, 'path') ?? paxPath;
      continue;
    }
    if (type === 'g') continue;
    if (++entries > maxEntries) throw unsafe(`more than ${maxEntries} entries`);
    const prefix = cString(header.subarray(345, 500));
    const short = cString(header.subarray(0, 100));
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${short}` : short);
    longName = undefined;
    paxPath = undefined;
    const relative = safeRelative(name);
    if (relative === '') continue; // './' itself
    const target = join(dir, relative);
    const mode = octal(header.subarray(100, 108));
    switch (type) {
      case '0':
      case '\0':
      case '7': {
        bytes += size;
        if (bytes > maxBytes) throw unsafe(`more than ${maxBytes} bytes unpacked`);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, body, { mode: mode & 0o100 ? 0o755 : 0o644, flag: 'wx' }).catch(
          (cause: unknown) => {
            throw unsafe(`cannot write ${relative} (a duplicate or a path through a file)`, cause);
          },
        );
        files++;
        break;
      }
      case '5':
        await mkdir(target, { recursive: true, mode: 0o755 });
        break;
      case '2': {
        const link = cString(header.subarray(157, 257));
        if (isAbsolute(link)) throw unsafe(`link ${relative} points to an absolute path`);
        const resolved = posix.normalize(posix.join(posix.dirname(relative.split(sep).join('/')), link));
        if (resolved === '..' || resolved.startsWith('../'))
          throw unsafe(`link ${relative} points out of the package`);
        links.push({ path: target, target: link });
        break;
      }
      default:
        throw unsafe(`entry ${relative} is a ${type === '1' ? 'hard link' : 'device, FIFO or unknown type'}`);
    }
  }
  for (const link of links) {
    await mkdir(dirname(link.path), { recursive: true });
    await symlink(link.target, link.path).catch((cause: unknown) => {
      throw unsafe(`cannot make link ${link.path}`, cause);
    });
  }
  return { files, bytes };
}

function unsafe(message: string, cause?: unknown): FarplayError {
  return new FarplayError('EDGE_PACKAGE_UNSAFE', message, cause === undefined ? {} : { cause });
}

/** A tar member name as a path relative to the package root; throws for anything that leaves it. */
function safeRelative(name: string): string {
  if (name.includes('\0')) throw unsafe('a name contains NUL');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafe(`absolute path ${name}`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(`path ${name} leaves the package`);
  return normalize(parts.join(sep)).replace(/^\.$/, '');
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end < 0 ? bytes : bytes.subarray(0, end)).toString('utf8');
}

function octal(bytes: Uint8Array): number {
  // GNU base-256 for large sizes.
  if ((bytes[0] ?? 0) & 0x80) {
    let n = (bytes[0] ?? 0) & 0x7f;
    for (let i = 1; i < bytes.length; i++) n = n * 256 + (bytes[i] ?? 0);
    return n;
  }
  const text = cString(bytes).trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function checksumOk(header: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] ?? 0);
  return sum === octal(header.subarray(148, 156));
}

function paxField(body: Uint8Array, key: string): string | undefined {
  const text = Buffer.from(body).toString('utf8');
  let i = 0;
  while (i < text.length) {
    const space = text.indexOf(' ', i);
    if (space < 0) break;
    const length = Number.parseInt(text.slice(i, space), 10);
    if (!(length > 0)) break;
    const record = text.slice(space + 1, i + length - 1);
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === key) return record.slice(eq + 1);
    i += length;
  }
  return undefined;
}
