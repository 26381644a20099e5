import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EarningsSession, EdgeEarnings } from '../../edge/billing/readEarnings.js';
import { QosRole } from '../../protocol/eip712.js';
import { generateSessionKeyPair } from '../../protocol/sessionToken.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { composeUnsupportedReason, type DockerEngine, ensureDockerEngine } from '../support/dockerEngine.js';
import { runInPage, until } from '../support/playerPage.js';

// The deployment as an operator runs it: the images built from Debian packages and the npm registry
// (scripts/compose-build.sh), docker-compose.yml brought up (Redis, two chains with the contracts, two
// matchmakers, three checkers, two edges that init → stake → run), a game played through it in Chromium from
// the matchmaker's page, the session ended from the page, and everything brought down. A loopback-only dockerd
// is started when none runs (and stopped after). Needs docker.io, docker-compose and mmdebstrap (.ci/run
// installs them); skipped, saying so, where they are missing.

const root = fileURLToPath(new URL('../..', import.meta.url));
const logDir = join(root, '.farplay', 'compose-e2e');
const project = 'farplay-e2e';
const matchmakerUrl = 'http://127.0.0.1:18080';
const edgePorts = [18701, 18702];
/** Short billed periods, so the played session's first QoS reports reach its checkers within seconds. */
const PERIOD_MS = 4000;
const unsupported = composeUnsupportedReason();

interface LiveEdge {
  edgeId: string;
  region: string;
  usedSlots: number;
}

/** Runs a command from the repository root, its output appended to `logDir/<log>`; rejects on a non-zero exit. */
async function run(command: string, args: string[], log: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const out = openSync(join(logDir, log), 'a');
  const child = spawn(command, args, {
    cwd: root,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited with ${code} (see ${join(logDir, log)})`);
}

async function liveEdges(): Promise<LiveEdge[]> {
  try {
    const response = await fetch(`${matchmakerUrl}/v1/edges`, { signal: AbortSignal.timeout(2000) });
    return response.ok ? ((await response.json()) as { edges: LiveEdge[] }).edges : [];
  } catch {
    return [];
  }
}

/** The billed sessions the compose edges know (their operator-only /v1/earnings: the test runs on their host). */
async function billedSessions(): Promise<EarningsSession[]> {
  const all: EarningsSession[] = [];
  for (const port of edgePorts) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v1/earnings`, {
        signal: AbortSignal.timeout(5000),
      });
      const earnings = (await response.json()) as EdgeEarnings | { billing: false };
      if (earnings.billing) all.push(...earnings.sessions);
    } catch {
      // that edge does not answer (yet)
    }
  }
  return all;
}

/** How many of the edge's signed reports of `sessionId` the checker at `url` accepted. */
async function edgeReportsAt(url: string, sessionId: string): Promise<number> {
  try {
    const response = await fetch(`${url}/v1/sessions/${sessionId}/evidence`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) return 0;
    const { reports } = (await response.json()) as { reports: { role: number }[] };
    return reports.filter((r) => r.role === QosRole.edge).length;
  } catch {
    return 0;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

describe.skipIf(unsupported !== undefined)(
  `the docker-compose network${unsupported ? ` (skipped: ${unsupported})` : ''}`,
  () => {
    let engine: DockerEngine | undefined;
    let browser: LaunchedChromium | undefined;
    const composeEnv = {
      FARPLAY_MM_SESSION_PRIVATE_KEY: generateSessionKeyPair().privateKey,
      FARPLAY_QOS_PERIOD_MS: String(PERIOD_MS),
      FARPLAY_QOS_REPORT_GRACE_MS: '2000',
    };
    const compose = (args: string[], log: string) =>
      run('docker-compose', ['-p', project, ...args], log, composeEnv);

    beforeAll(async () => {
      mkdirSync(logDir, { recursive: true });
      engine = await ensureDockerEngine(logDir);
      const buildStarted = Date.now();
      await run('sh', ['scripts/compose-build.sh'], 'build.log');
      const upStarted = Date.now();
      // A network left over by an interrupted run would hold the ports.
      await compose(['down', '-v', '--remove-orphans'], 'compose.log');
      await compose(['up', '-d'], 'compose.log');
      await until(liveEdges, (edges) => edges.length === 2, {
        timeoutMs: 900_000,
        stepMs: 1000,
        what: 'both compose edges to init, stake and register',
      });
      for (const port of [18095, 18096, 18097]) {
        await until(
          () => answers(`http://127.0.0.1:${port}/v1/health`),
          (ok) => ok,
          { timeoutMs: 120_000, stepMs: 500, what: `checker on ${port}` },
        );
      }
      process.stderr.write(
        `compose e2e: images built in ${Math.round((upStarted - buildStarted) / 1000)} s, network up (edges staked and live) in ${Math.round((Date.now() - upStarted) / 1000)} s\n`,
      );
      browser = await launchChromium();
    }, 3_600_000);

    afterAll(async () => {
      await browser?.close();
      const logs = spawnSync('docker-compose', ['-p', project, 'logs', '--no-color'], {
        cwd: root,
        env: { ...process.env, ...composeEnv },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      if (logs.stdout) writeFileSync(join(logDir, 'services.log'), logs.stdout);
      await compose(['down', '-v', '--remove-orphans'], 'compose.log').catch(() => {});
      await engine?.close();
    }, 300_000);

    it('plays a game from the matchmaker page on a compose edge, and ending it frees the slot', async () => {
      const started = Date.now();
      const edges = await liveEdges();
      expect(edges.map((edge) => edge.region).sort()).toEqual(['eu-west', 'us-east']);
      const page = await (browser as LaunchedChromium).context.newPage();
      await page.goto(`${matchmakerUrl}/`);
      await page.click('.game-card[data-game-id="breakout"]');
      await page.waitForSelector('.play[data-state="playing"]', { timeout: 60_000 });
      const frames = () =>
        runInPage<number>(
          page,
          "() => document.querySelector('.play video')?.getVideoPlaybackQuality().totalVideoFrames ?? 0",
        );
      const first = await until(frames, (count) => count > 0, { what: 'the first decoded frame' });
      await until(frames, (count) => count > first + 30, { what: 'frames to keep coming' });
      const busy = await until(liveEdges, (list) => list.some((edge) => edge.usedSlots === 1), {
        what: 'the matchmaker to count the session on an edge',
      });
      expect(busy.reduce((sum, edge) => sum + edge.usedSlots, 0)).toBe(1);

      // Billed as in `npm start`: the matchmaker assigned the session its three checkers (named in its token, so
      // the edge tracks it) and the edge's signed per-period reports reach every one of them.
      const [billed] = await until(billedSessions, (list) => list.length === 1, {
        timeoutMs: 30_000,
        what: 'the edge to track the session for billing',
      });
      expect(billed?.checkers.sort()).toEqual([18095, 18096, 18097].map((p) => `http://127.0.0.1:${p}`));
      for (const url of billed?.checkers ?? []) {
        await until(
          () => edgeReportsAt(url, billed?.sessionId ?? ''),
          (n) => n >= 1,
          { timeoutMs: 60_000, stepMs: 500, what: `the edge's QoS report at ${url}` },
        );
      }

      // The player leaves: the page ends the session, the edge frees the slot and heartbeats it.
      await page.click('[data-action="back"]');
      await page.waitForSelector('.game-card');
      await until(liveEdges, (list) => list.length === 2 && list.every((edge) => edge.usedSlots === 0), {
        timeoutMs: 60_000,
        what: 'every compose edge to report its slot free',
      });
      await page.close();
      process.stderr.write(
        `compose e2e: played and ended a session in ${Math.round((Date.now() - started) / 1000)} s\n`,
      );
    });
  },
);
