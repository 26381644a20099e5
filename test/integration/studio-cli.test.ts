import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../matchmaker/buildApp.js';
import { runFarplay } from '../../matchmaker/studio-cli/farplay.js';
import { TEST_SESSION_KEYS, testPlayerAuth } from '../tools/testDeployment.js';

/** What one `farplay` run printed and returned. */
interface StudioRun {
  code: number;
  lines: string[];
  errors: string[];
  progress: string[];
}

const root = fileURLToPath(new URL('../..', import.meta.url));
let app: Awaited<ReturnType<typeof buildApp>>;
let mmUrl: string;
let home: string;
let gameDir: string;

/** Runs `farplay <argv>` in process as a studio would in a terminal, with its own config home. */
async function farplay(argv: string[], env: Record<string, string> = {}): Promise<StudioRun> {
  const run: StudioRun = { code: 0, lines: [], errors: [], progress: [] };
  run.code = await runFarplay({
    argv,
    env: { PATH: process.env.PATH, HOME: home, ...env },
    output: {
      out: (line) => run.lines.push(line),
      err: (line) => run.errors.push(line),
      progress: (line) => run.progress.push(line),
    },
    stdin: new PassThrough() as unknown as NodeJS.ReadStream,
    stderr: new PassThrough() as unknown as NodeJS.WriteStream,
  });
  return run;
}

/** A game folder: an executable launcher, a data file and farplay.json (`manifest` merged over a valid one). */
function writeGame(manifest: Record<string, unknown>, data = 'level 1'): void {
  writeFileSync(join(gameDir, 'run.sh'), '#!/bin/sh\nexec sleep 3600\n');
  chmodSync(join(gameDir, 'run.sh'), 0o755);
  writeFileSync(join(gameDir, 'levels.txt'), data);
  writeFileSync(
    join(gameDir, 'farplay.json'),
    JSON.stringify({
      id: 'sleeper',
      title: 'Sleeper',
      description: 'A game that sleeps',
      width: 640,
      height: 480,
      fps: 30,
      pricePerMinute: '0',
      input: ['keyboard'],
      command: './run.sh',
      ...manifest,
    }),
  );
}

function field(run: StudioRun, name: string): string | undefined {
  return run.lines
    .find((l) => l.startsWith(`${name} `))
    ?.slice(name.length)
    .trim();
}

beforeAll(async () => {
  app = await buildApp({
    config: {
      logLevel: 'silent',
      studioApiKeys: 'acme=acme-key,umbrella=umbrella-key',
      refreshMs: 100,
      sessionPrivateKey: TEST_SESSION_KEYS.privateKey,
    },
  });
  mmUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  home = mkdtempSync(join(tmpdir(), 'farplay-studio-home-'));
  gameDir = mkdtempSync(join(tmpdir(), 'farplay-studio-game-'));
});

afterAll(async () => {
  await app?.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(gameDir, { recursive: true, force: true });
});

describe('farplay studio against a real matchmaker', () => {
  it('logs in only with a key the matchmaker knows, and stores it readable by the owner only', async () => {
    writeGame({});
    const early = await farplay(['studio', 'publish', gameDir]);
    expect(early.code).toBe(1);
    expect(early.errors.join('\n')).toContain('STUDIO_NOT_LOGGED_IN');

    const keyFile = join(home, 'key.txt');
    writeFileSync(keyFile, 'wrong-key\n');
    const wrong = await farplay(['studio', 'login', '--matchmaker', mmUrl, '--key-file', keyFile]);
    expect(wrong.code).toBe(1);
    expect(wrong.errors.join('\n')).toContain('MM_BAD_API_KEY');
    const config = join(home, '.farplay', 'studio.json');
    expect(existsSync(config)).toBe(false);

    writeFileSync(keyFile, 'acme-key\n');
    const ok = await farplay(['studio', 'login', '--matchmaker', mmUrl, '--key-file', keyFile]);
    expect(ok.code, ok.errors.join('\n')).toBe(0);
    expect(ok.lines.join('\n')).toContain('as studio acme');
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(config, 'utf8'))).toMatchObject({
      apiKey: 'acme-key',
      matchmakerUrl: mmUrl,
    });
  });

  it('refuses a bad farplay.json naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ fps: 0 }, 'fps'],
      [{ title: undefined }, 'title'],
      [{ colour: 'red' }, 'colour'],
      [{ command: './missing.sh' }, 'command'],
      [{ input: ['keyboard', 'telepathy'] }, 'input'],
    ];
    for (const [manifest, name] of cases) {
      writeGame(manifest);
      const run = await farplay(['studio', 'publish', gameDir]);
      expect(run.code, JSON.stringify(manifest)).toBe(1);
      const message = run.errors.join('\n');
      expect(message).toContain('STUDIO_BAD_MANIFEST');
      expect(message).toContain(`farplay.json: ${name}`);
    }
    writeFileSync(join(gameDir, 'farplay.json'), '{ not json');
    expect((await farplay(['studio', 'publish', gameDir])).errors.join('\n')).toContain('is not JSON');
  });

  it('publishes versions, lists them, pins one and unpublishes', async () => {
    writeGame({});
    const first = await farplay(['studio', 'publish', gameDir]);
    expect(first.code, first.errors.join('\n')).toBe(0);
    const sha256 = field(first, 'sha256') as string;
    expect(field(first, 'version')).toBe('1');
    expect(first.progress.at(-1)).toContain('100%');
    // The matchmaker holds exactly the package printed, and it unpacks to the folder without farplay.json.
    const stored = Buffer.from(
      await (
        await fetch(`${mmUrl}/v1/packages/${sha256}`, { headers: testPlayerAuth('sleeper') })
      ).arrayBuffer(),
    );
    expect(createHash('sha256').update(stored).digest('hex')).toBe(sha256);
    const tar = gunzipSync(stored).toString('latin1');
    expect(tar).toContain('./run.sh');
    expect(tar).not.toContain('farplay.json');
    // Packing is reproducible: the same folder is the same package.
    const again = await farplay(['studio', 'publish', '--dry-run', gameDir]);
    expect(field(again, 'sha256')).toBe(sha256);

    writeGame({ title: 'Sleeper II' }, 'level 2');
    const second = await farplay(['studio', 'publish', gameDir]);
    expect(field(second, 'version')).toBe('2');
    expect(field(second, 'sha256')).not.toBe(sha256);

    const manifest = async () =>
      (await (await fetch(`${mmUrl}/v1/games/sleeper/manifest`)).json()) as {
        version: number;
        title: string;
      };
    expect(await manifest()).toMatchObject({ version: 2, title: 'Sleeper II' });

    const list = await farplay(['studio', 'versions']);
    expect(list.lines.join('\n')).toMatch(/sleeper\s+v2/);
    const versions = await farplay(['studio', 'versions', 'sleeper']);
    expect(versions.lines[0]).toContain('serving v2 (latest)');
    expect(versions.lines.filter((l) => /^. v\d/.test(l))).toHaveLength(2);

    const pin = await farplay(['studio', 'pin', 'sleeper', '1']);
    expect(pin.code, pin.errors.join('\n')).toBe(0);
    expect(await manifest()).toMatchObject({ version: 1, title: 'Sleeper' });
    // Another studio can neither see nor pin it.
    const theirs = await farplay(['studio', 'pin', 'sleeper', '2'], {
      FARPLAY_STUDIO_API_KEY: 'umbrella-key',
    });
    expect(theirs.errors.join('\n')).toContain('MM_FORBIDDEN');
    expect((await farplay(['studio', 'pin', 'sleeper', '7'])).errors.join('\n')).toContain('MM_UNKNOWN_GAME');

    const drop = await farplay(['studio', 'unpublish', 'sleeper', '--version', '1']);
    expect(drop.code, drop.errors.join('\n')).toBe(0);
    expect(await manifest()).toMatchObject({ version: 2 });

    const gone = await farplay(['studio', 'unpublish', 'sleeper']);
    expect(gone.code, gone.errors.join('\n')).toBe(0);
    expect((await fetch(`${mmUrl}/v1/games/sleeper/manifest`)).status).toBe(404);
    const games = (await (await fetch(`${mmUrl}/v1/games`)).json()) as { games: { id: string }[] };
    expect(games.games.map((g) => g.id)).not.toContain('sleeper');
  });

  it('runs as the installed bin', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(root, 'matchmaker/studio-cli/farplay.mjs'), 'studio', 'versions'],
      { cwd: tmpdir(), env: { PATH: process.env.PATH, HOME: home } },
    );
    expect(stdout).toContain('studio acme');
  });
});
