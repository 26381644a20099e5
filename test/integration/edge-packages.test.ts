import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackageCache } from '../../edge/packages/PackageCache.js';
import { unpackTar } from '../../edge/packages/unpackTar.js';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { createMemoryStore } from '../../matchmaker/store/createMemoryStore.js';
import { findError } from '../../protocol/errors.js';
import { PACKAGE_AUTH_HEADER, signPackageDownload } from '../../protocol/packageDownload.js';
import {
  generateSessionKeyPair,
  importSessionPrivateKey,
  signSessionToken,
} from '../../protocol/sessionToken.js';
import { TEST_DEPLOYMENT, TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import { newEdgeAccount, signedRegistration } from './matchmaker-support.js';

const auth = { authorization: 'Bearer acme-key' };

/** Packs `files` (path → content; a value starting with 'link:' is a symlink) with GNU tar. */
function pack(files: Record<string, string>, options: { gzip?: boolean } = {}): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'farplay-pack-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      if (content.startsWith('link:')) symlinkSync(content.slice(5), join(dir, path));
      else writeFileSync(join(dir, path), content, { mode: path.endsWith('.sh') ? 0o755 : 0o644 });
    }
    return execFileSync('tar', [
      options.gzip === false ? '-c' : '-cz',
      '-f',
      '-',
      '-C',
      dir,
      ...Object.keys(files),
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('edge package cache: fetched from the matchmaker, verified, unpacked safely, LRU-bounded', () => {
  let app: MatchmakerApp;
  let url: string;
  let dataDir: string;
  const dirs: string[] = [];
  const tempDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'farplay-cache-'));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    dataDir = tempDir();
    app = await buildApp({
      store: createMemoryStore(),
      config: {
        logLevel: 'silent',
        studioApiKeys: 'acme=acme-key',
        dataDir,
        sessionPrivateKey: TEST_SESSION_KEYS.privateKey,
      },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address() as { port: number };
    url = `http://127.0.0.1:${address.port}`;
    // Packages go to registered edges only: this one downloads them.
    const registered = await app.inject({
      method: 'POST',
      url: '/v1/edges/register',
      payload: await signedRegistration(edge),
    });
    expect(registered.statusCode).toBe(200);
    await app.matchmaker.refresh();
  });
  const edge = newEdgeAccount();
  const cacheAuth = { account: edge, deployment: TEST_DEPLOYMENT };
  afterAll(async () => {
    await app.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function upload(bytes: Buffer): Promise<string> {
    const res = await fetch(`${url}/v1/studio/packages`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { sha256: string }).sha256;
  }

  it('downloads a published package once for concurrent first uses, unpacks it with its execute bits, and reuses it', async () => {
    const sha = await upload(pack({ 'run.sh': '#!/bin/sh\necho hi\n', 'data/level1.txt': 'level one' }));
    let downloads = 0;
    const cache = new PackageCache({ dir: tempDir(), matchmakerUrl: url, auth: cacheAuth });
    const counting = new PackageCache({ dir: tempDir(), matchmakerUrl: url, auth: cacheAuth });
    const originalFetch = globalThis.fetch;
    globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
      downloads++;
      return originalFetch(...args);
    }) as typeof fetch;
    let leases: Awaited<ReturnType<PackageCache['acquire']>>[];
    try {
      leases = await Promise.all([counting.acquire(sha), counting.acquire(sha), counting.acquire(sha)]);
    } finally {
      globalThis.fetch = originalFetch;
    }
    expect(downloads).toBe(1);
    const dir = leases[0]?.dir as string;
    expect(leases.every((l) => l.dir === dir)).toBe(true);
    expect(readFileSync(join(dir, 'data/level1.txt'), 'utf8')).toBe('level one');
    expect(statSync(join(dir, 'run.sh')).mode & 0o111).not.toBe(0);
    expect(execFileSync(join(dir, 'run.sh')).toString()).toBe('hi\n');
    for (const l of leases) l.release();
    // A second cache over the same folder (an edge restart) finds the package on disk.
    expect(await counting.list()).toEqual([sha]);
    const again = await cache.acquire(sha);
    expect(existsSync(join(again.dir, 'run.sh'))).toBe(true);
    again.release();
  });

  it('refuses a package whose bytes do not hash to its sha256 and never unpacks it', async () => {
    const sha = await upload(pack({ 'game.sh': '#!/bin/sh\n' }));
    // The matchmaker's copy is corrupted (or tampered with) after upload.
    const stored = join(dataDir, 'packages', sha);
    writeFileSync(stored, pack({ 'game.sh': '#!/bin/sh\necho owned\n' }));
    const dir = tempDir();
    const cache = new PackageCache({ dir, matchmakerUrl: url, auth: cacheAuth });
    const error = await cache.acquire(sha).catch((e: unknown) => e);
    expect(findError(error)?.code).toBe('EDGE_PACKAGE_HASH_MISMATCH');
    expect(await cache.list()).toEqual([]);
    expect(existsSync(join(dir, sha))).toBe(false);

    const missing = await new PackageCache({ dir, matchmakerUrl: url, auth: cacheAuth })
      .acquire('a'.repeat(64))
      .catch((e: unknown) => e);
    expect(findError(missing)?.code).toBe('EDGE_PACKAGE_UNAVAILABLE');
  });

  it('serves a package only to a registered edge or a player of a game using it (MM_PACKAGE_FORBIDDEN)', async () => {
    const sha = await upload(pack({ 'game.sh': '#!/bin/sh\necho secret\n' }));
    const published = await app.inject({
      method: 'POST',
      url: '/v1/studio/games',
      headers: auth,
      payload: {
        id: 'acme-secret',
        title: 'Secret',
        description: 'A studio game',
        width: 640,
        height: 360,
        fps: 30,
        pricePerMinute: '1000',
        input: ['keyboard'],
        runtime: 'package',
        command: './game.sh',
        packageSha256: sha,
      },
    });
    expect(published.statusCode, published.body).toBe(200);
    await app.matchmaker.refresh();
    const get = (headers: Record<string, string>) => fetch(`${url}/v1/packages/${sha}`, { headers });
    const codeOf = async (r: Response) => [r.status, ((await r.json()) as { code: string }).code];
    // Anyone: refused before a byte is sent.
    expect(await codeOf(await get({}))).toEqual([403, 'MM_PACKAGE_FORBIDDEN']);
    // An edge key that is not registered here, a signature for another package, another deployment.
    const stranger = newEdgeAccount();
    for (const header of [
      await signPackageDownload(stranger, TEST_DEPLOYMENT, sha),
      await signPackageDownload(edge, TEST_DEPLOYMENT, 'b'.repeat(64)),
      await signPackageDownload(edge, 'mm-elsewhere', sha),
      'garbage',
    ])
      expect(await codeOf(await get({ [PACKAGE_AUTH_HEADER]: header }))).toEqual([
        403,
        'MM_PACKAGE_FORBIDDEN',
      ]);
    // The registered edge gets the bytes.
    const byEdge = await get({
      [PACKAGE_AUTH_HEADER]: await signPackageDownload(edge, TEST_DEPLOYMENT, sha),
    });
    expect(byEdge.status).toBe(200);
    // A player's session token: of this game, yes; of another game, expired, or signed by another key, no.
    const now = Math.floor(Date.now() / 1000);
    const key = importSessionPrivateKey(TEST_SESSION_KEYS.privateKey);
    const token = (gameId: string, exp = now + 60, k = key) =>
      signSessionToken({ sid: 's-1', gameId, edgeId: edge.address, iat: now, exp }, k);
    expect((await get({ authorization: `Bearer ${token('acme-secret')}` })).status).toBe(200);
    const otherKey = importSessionPrivateKey(generateSessionKeyPair().privateKey);
    for (const t of [token('pong'), token('acme-secret', now - 60), token('acme-secret', now + 60, otherKey)])
      expect(await codeOf(await get({ authorization: `Bearer ${t}` }))).toEqual([
        403,
        'MM_PACKAGE_FORBIDDEN',
      ]);
  });

  it('evicts the least recently used idle package beyond its byte bound, never one in use', async () => {
    const big = (tag: string): Buffer => pack({ [`${tag}.bin`]: tag.repeat(40_000) });
    const [a, b, c] = [await upload(big('a')), await upload(big('b')), await upload(big('c'))];
    const cache = new PackageCache({
      dir: tempDir(),
      matchmakerUrl: url,
      auth: cacheAuth,
      maxBytes: 100_000,
    });
    const la = await cache.acquire(a);
    const lb = await cache.acquire(b);
    lb.release();
    const lc = await cache.acquire(c);
    // a is in use and c is new: b (idle, least recent) goes.
    expect((await cache.list()).sort()).toEqual([a, c].sort());
    expect(existsSync(la.dir)).toBe(true);
    la.release();
    lc.release();
  });

  it('unpacks nothing that leaves the package folder', async () => {
    const cases: [string, Buffer][] = [
      ['absolute link', pack({ passwd: 'link:/etc/passwd' })],
      ['link out', pack({ up: 'link:../../outside' })],
    ];
    // A member named ../escape (GNU tar strips it at creation unless -P): built with -P from a relative path.
    const base = tempDir();
    mkdirSync(join(base, 'inner'));
    writeFileSync(join(base, 'escape.txt'), 'x');
    cases.push(['absolute path', execFileSync('tar', ['-cPf', '-', join(base, 'escape.txt')])]);
    cases.push([
      'dot-dot path',
      execFileSync('tar', ['-cPf', '-', '-C', join(base, 'inner'), '../escape.txt']),
    ]);
    for (const [what, archive] of cases) {
      const target = join(tempDir(), 'pkg');
      const error = await unpackTar(archive, target).catch((e: unknown) => e);
      expect(findError(error)?.code, what).toBe('EDGE_PACKAGE_UNSAFE');
      expect(existsSync(join(target, '..', 'escape.txt')), what).toBe(false);
    }
    // A link that stays inside is kept.
    const ok = join(tempDir(), 'pkg');
    await unpackTar(pack({ 'data/a.txt': 'a', alias: 'link:data/a.txt' }), ok);
    expect(lstatSync(join(ok, 'alias')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(ok, 'alias'), 'utf8')).toBe('a');
  });
});
