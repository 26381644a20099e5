// `npm start`: runs Farplay locally with embedded defaults (no external services).
// For now one edge in standalone mode (it mints its own session tokens and serves the player API)
// serving the built player at `/`. The player bundle is built first when missing or stale.
//
// Flags: --build (always rebuild the player), --port N (default FARPLAY_EDGE_PORT or 8700; 0 = any).
// Every FARPLAY_EDGE_* variable of edge/config.ts applies.
import { pino } from 'pino';
import { loadEdgeConfig } from '../edge/config.js';
import { createEdge } from '../edge/createEdge.js';
import { findError } from '../protocol/errors.js';
import { ensurePlayerBuilt } from './buildPlayer.js';

function flag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : (process.argv[index + 1] ?? '');
}

async function main(): Promise<void> {
  const started = Date.now();
  const { dir, built } = await ensurePlayerBuilt({ force: process.argv.includes('--build') });
  if (built) console.log(`Built the player into ${dir} (${Date.now() - started} ms)`);

  const env: NodeJS.ProcessEnv = { ...process.env };
  env.FARPLAY_EDGE_STATIC_DIR ??= dir;
  const port = flag('port');
  if (port !== undefined) env.FARPLAY_EDGE_PORT = port;
  let config: ReturnType<typeof loadEdgeConfig>;
  try {
    config = loadEdgeConfig(env);
  } catch (error) {
    console.error(findError(error)?.message ?? String(error));
    process.exit(2);
  }
  const logger = pino({
    level: config.logLevel,
    redact: ['config.nodePrivateKey', 'token', '*.token', 'req.query.token'],
  });
  const edge = await createEdge({ config, logger });
  const url = await edge.listen();
  const info = edge.info();
  console.log('');
  console.log(`  Farplay is running (one standalone edge, encoder ${info.encoder}, ${info.capacity} slots).`);
  console.log(`  Open ${url}/ in a browser.  Ctrl+C stops it.`);
  console.log('');

  const stop = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    edge.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`Farplay failed to start: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
