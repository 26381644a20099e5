// An edge process for tests and benches run inside a netlab namespace (see NetLabEdge.ts). Two modes:
// - standalone (default): an edge with the built-in games (the stress scene among them) and the player page.
//   Args: --host IP --static DIR [--congestion on|off] [--fec on|off].
// - `--billed`: the real edge program (edge/runEdge.ts) configured by the FARPLAY_EDGE_* environment: it registers
//   with its matchmaker, reports each period to the session's checkers and settles on the payments chain.
// Protocol lines on stdout start with `netlab-edge ` (a billed edge's own log lines may share stdout): one
// {"url"} once listening; each `stats` line on stdin is answered with {t, sessions}, each `periods <sessionId>`
// line with {t, periods} (the billing periods the session's edge reporter has closed: cheap enough to poll while
// the edge streams); `close` (or stdin ending) shuts it down.
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import type { RunningEdgeBilling } from '../../edge/billing/startEdgeBilling.js';
import { parseEdgeConfig } from '../../edge/config.js';
import { createEdge } from '../../edge/createEdge.js';
import type { Edge } from '../../edge/Edge.js';
import { builtInGames } from '../../edge/games/builtInGames.js';
import { runEdge } from '../../edge/runEdge.js';
import { NETLAB_EDGE_LINE } from './NetLabEdge.js';

function arg(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

function say(message: unknown): void {
  process.stdout.write(`${NETLAB_EDGE_LINE}${JSON.stringify(message)}\n`);
}

async function standalone(): Promise<{ edge: Edge; close: () => Promise<void> }> {
  const host = arg('host') ?? '0.0.0.0';
  const staticDir = arg('static');
  const congestionControl = (arg('congestion') ?? 'on') !== 'off';
  const fec = arg('fec') === 'on';
  const server = await createEdge({
    config: parseEdgeConfig({
      host,
      port: 0,
      ...(staticDir ? { staticDir } : {}),
      capacity: 1,
      logLevel: 'warn',
      iceAdditionalHostAddresses: [],
      congestionControl,
      fec,
      allowPrivateCandidates: true, // the lab's namespaces use private addresses
    }),
    logger: pino({ level: 'warn' }),
    games: builtInGames(),
  });
  const url = await server.listen({ host, port: 0 });
  say({ url });
  return { edge: server.edge, close: () => server.close() };
}

async function billed(): Promise<{ edge: Edge; billing: RunningEdgeBilling | undefined }> {
  const running = await runEdge(process.env);
  say({ url: running.edge.url });
  return running;
}

async function main(): Promise<void> {
  const isBilled = process.argv.includes('--billed');
  const { edge, billing, close } = isBilled
    ? { ...(await billed()), close: undefined }
    : { ...(await standalone()), billing: undefined };
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stats') {
      say({ t: Date.now(), sessions: edge.stats().sessions });
    } else if (line.startsWith('periods ')) {
      say({ t: Date.now(), periods: billing?.billing.reporter(line.slice('periods '.length))?.periods ?? 0 });
    } else if (line === 'close') {
      break;
    }
  }
  // The billed edge's own shutdown (runEdge): sessions reported ended, billing and server closed, then exit.
  if (close === undefined) process.kill(process.pid, 'SIGTERM');
  else {
    await close();
    process.exit(0);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
