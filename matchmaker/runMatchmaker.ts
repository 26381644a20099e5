import { pino } from 'pino';
import { LOG_REDACT_PATHS } from '../protocol/logRedactions.js';
import type { BuildAppOptions } from './buildApp.js';
import { parseMatchmakerConfig } from './config.js';
import { type RunningMatchmaker, startMatchmaker } from './startMatchmaker.js';

/**
 * The matchmaker process: config from FARPLAY_MM_* in `env` (matchmaker/config.ts; bad config exits 2), pino,
 * listen, stop on SIGINT/SIGTERM. `extra` adds what config cannot carry (a local chain's faucet).
 */
export async function runMatchmaker(
  env: Record<string, string | undefined>,
  extra: Pick<BuildAppOptions, 'faucet'> = {},
): Promise<RunningMatchmaker> {
  let config: ReturnType<typeof parseMatchmakerConfig>;
  try {
    config = parseMatchmakerConfig(env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino({
    level: config.logLevel,
    redact: [...LOG_REDACT_PATHS],
  });
  const mm = await startMatchmaker(config, logger, extra);
  logger.info(
    {
      url: mm.url,
      store: config.redisCluster ? 'redis-cluster' : config.redisUrl ? 'redis' : 'memory',
      sessionPublicKey: mm.sessionPublicKey,
    },
    'matchmaker listening',
  );
  // The IP-location database (~130 MB, about a second) is read now, in the background: candidates asked
  // before it is in are ranked without it.
  if (mm.app.matchmaker.ipLocator.enabled) {
    const started = performance.now();
    mm.app.matchmaker.ipLocator.load().then(
      () =>
        logger.info(
          { files: mm.app.matchmaker.ipLocator.files, ms: Math.round(performance.now() - started) },
          'IP-location database loaded',
        ),
      (err: unknown) =>
        logger.error({ err, ipLocationDb: config.ipLocationDb }, 'IP-location database not loaded'),
    );
  }
  const stop = () => {
    mm.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return mm;
}
