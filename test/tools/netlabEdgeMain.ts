// An edge process for tests and benches run inside a netlab namespace (see NetLabEdge.ts): a standalone
// edge with the built-in games (the stress scene among them) and the player page. Args: --host IP
// --static DIR [--congestion on|off]. Prints {"url"} once listening; answers each `stats` line on stdin
// with one JSON line {t, sessions}; `close` (or stdin ending) shuts it down.
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { parseEdgeConfig } from '../../edge/config.js';
import { createEdge } from '../../edge/createEdge.js';
import { builtInGames } from '../../edge/games/builtInGames.js';

function arg(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

async function main(): Promise<void> {
  const host = arg('host') ?? '0.0.0.0';
  const staticDir = arg('static');
  const congestionControl = (arg('congestion') ?? 'on') !== 'off';
  const edge = await createEdge({
    config: parseEdgeConfig({
      host,
      port: 0,
      ...(staticDir ? { staticDir } : {}),
      capacity: 1,
      logLevel: 'warn',
      iceAdditionalHostAddresses: [],
      congestionControl,
      allowPrivateCandidates: true, // the lab's namespaces use private addresses
    }),
    logger: pino({ level: 'warn' }),
    games: builtInGames(),
  });
  const url = await edge.listen({ host, port: 0 });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stats') {
      const sessions = edge.edge.stats().sessions;
      process.stdout.write(`${JSON.stringify({ t: Date.now(), sessions })}\n`);
    } else if (line === 'close') {
      break;
    }
  }
  await edge.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
