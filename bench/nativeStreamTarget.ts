import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { parseEdgeConfig } from '../edge/config.js';
import { type EdgeControl, startEdgeControl } from '../edge/control/startEdgeControl.js';
import { createEdge } from '../edge/createEdge.js';
import type { Edge } from '../edge/Edge.js';
import type { EdgeServer } from '../edge/http/EdgeServer.js';
import { NativeGameCatalog } from '../edge/native/NativeGameCatalog.js';
import { PackageCache } from '../edge/packages/PackageCache.js';
import { type RunningMatchmaker, startMatchmaker } from '../matchmaker/startMatchmaker.js';
import { runFarplay } from '../matchmaker/studio-cli/farplay.js';
import { deploymentOf } from '../protocol/deployment.js';
import { buildNativeGamePackage } from '../test/support/nativeGame.js';

/** Options of `startNativeStreamTarget`. */
export interface NativeStreamTargetOptions {
  /** 'square' (the C test game, compiled here), 'ltris' (test/fixtures/ltris) or a folder with farplay.json. */
  game: string;
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  /** The built player page to serve. */
  staticDir: string;
  /** Sessions the edge takes at once (default 1; the capacity bench raises it). */
  capacity?: number;
  logger: Logger;
}

/** A native game ready to be played: the page URL to open and the edge that runs it. */
export interface NativeStreamTarget {
  edge: Edge;
  /** The edge's HTTP base URL and the matchmaker's. */
  edgeUrl: string;
  matchmakerUrl: string;
  /** The play page of the game, served by the matchmaker. */
  pageUrl: string;
  gameId: string;
  close(): Promise<void>;
}

const fixtures = fileURLToPath(new URL('../test/fixtures/', import.meta.url));

/** The game folder to publish (a temporary copy with the bench's size and rate in its farplay.json). */
function gameFolder(options: NativeStreamTargetOptions): string {
  if (options.game === 'square') {
    const dir = buildNativeGamePackage();
    writeFileSync(
      join(dir, 'farplay.json'),
      JSON.stringify({
        id: 'square',
        title: 'Square (bench)',
        description: 'The small X11 test game',
        width: options.width,
        height: options.height,
        fps: options.fps,
        pricePerMinute: '0',
        input: ['keyboard', 'mouse'],
        command: `./game --fps ${options.fps}`,
      }),
    );
    return dir;
  }
  const source = options.game === 'ltris' ? join(fixtures, 'ltris') : resolve(options.game);
  if (!existsSync(join(source, 'farplay.json'))) {
    throw new Error(`--game ${options.game}: not 'square', 'ltris' or a folder with farplay.json`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'farplay-bench-game-'));
  cpSync(source, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'farplay.json'), 'utf8')) as Record<string, unknown>;
  // The game keeps its own screen size; the bench's rate bounds the capture.
  writeFileSync(join(dir, 'farplay.json'), JSON.stringify({ ...manifest, fps: options.fps }));
  return dir;
}

/**
 * A local network for one native game: a matchmaker (serving the player page), the game published into it
 * with `farplay studio publish`, and one edge that runs native X11 games, registered with the matchmaker.
 */
export async function startNativeStreamTarget(
  options: NativeStreamTargetOptions,
): Promise<NativeStreamTarget> {
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const matchmaker: RunningMatchmaker = await startMatchmaker(
      {
        port: 0,
        logLevel: 'warn',
        staticDir: options.staticDir,
        studioApiKeys: 'bench=bench-key',
        refreshMs: 100,
      },
      options.logger,
    );
    closers.push(() => matchmaker.close());
    const folder = gameFolder(options);
    closers.push(() => rmSync(folder, { recursive: true, force: true }));
    const manifest = JSON.parse(readFileSync(join(folder, 'farplay.json'), 'utf8')) as { id: string };
    const printed: string[] = [];
    const code = await runFarplay({
      argv: ['studio', 'publish', '--matchmaker', matchmaker.url, folder],
      env: { PATH: process.env.PATH, HOME: tmpdir(), FARPLAY_STUDIO_API_KEY: 'bench-key' },
      output: { out: (l) => printed.push(l), err: (l) => printed.push(l), progress: () => {} },
      stdin: new PassThrough() as unknown as NodeJS.ReadStream,
      stderr: new PassThrough() as unknown as NodeJS.WriteStream,
    });
    if (code !== 0) throw new Error(`farplay studio publish failed:\n${printed.join('\n')}`);

    const dirs = [
      mkdtempSync(join(tmpdir(), 'farplay-bench-pkg-')),
      mkdtempSync(join(tmpdir(), 'farplay-bench-run-')),
    ];
    closers.push(() => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    const key = generatePrivateKey();
    const catalog = new NativeGameCatalog({
      matchmakerUrl: matchmaker.url,
      packages: new PackageCache({
        dir: dirs[0] as string,
        matchmakerUrl: matchmaker.url,
        auth: { account: privateKeyToAccount(key), deployment: deploymentOf(matchmaker.sessionPublicKey) },
      }),
      runtimeDir: dirs[1] as string,
      logger: options.logger,
    });
    closers.push(() => catalog.close());
    const server: EdgeServer = await createEdge({
      config: parseEdgeConfig({
        port: 0,
        nodePrivateKey: key,
        matchmakerPublicKey: matchmaker.sessionPublicKey,
        capacity: options.capacity ?? 1,
        videoBitrateKbps: options.bitrateKbps,
        logLevel: 'warn',
        allowPrivateCandidates: true, // the player is on loopback
      }),
      logger: options.logger,
      packageGames: catalog,
    });
    const edgeUrl = await server.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => server.close());
    const control: EdgeControl = startEdgeControl({
      edge: server.edge,
      account: privateKeyToAccount(key),
      matchmakerUrl: matchmaker.url,
      heartbeatMs: 500,
      logger: options.logger,
    });
    closers.push(() => control.close());
    await control.registered;
    await waitUntilListed(matchmaker.url, server.edge.id);
    return {
      edge: server.edge,
      edgeUrl,
      matchmakerUrl: matchmaker.url,
      gameId: manifest.id,
      pageUrl: `${matchmaker.url}/#/play/${encodeURIComponent(manifest.id)}`,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Waits (≤ 10 s) until the matchmaker lists `edgeId` as live: allocations go only to edges its index holds. */
async function waitUntilListed(matchmakerUrl: string, edgeId: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const listed = (await (await fetch(`${matchmakerUrl}/v1/edges`)).json()) as {
      edges: { edgeId: string }[];
    };
    if (listed.edges.some((e) => e.edgeId.toLowerCase() === edgeId.toLowerCase())) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the matchmaker did not list edge ${edgeId} within 10 s`);
}
