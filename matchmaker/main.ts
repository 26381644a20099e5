import { pino } from 'pino';
import { LOG_REDACT_PATHS } from '../protocol/logRedactions.js';
import { parseMatchmakerConfig } from './config.js';
import { startMatchmaker } from './startMatchmaker.js';

// The matchmaker process: config from FARPLAY_MM_* (matchmaker/config.ts), pino, listen, stop on signals.
async function main(): Promise<void> {
  let config: ReturnType<typeof parseMatchmakerConfig>;
  try {
    config = parseMatchmakerConfig(process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino({
    level: config.logLevel,
    redact: [...LOG_REDACT_PATHS],
  });
  const mm = await startMatchmaker(config, logger);
  logger.info(
    { url: mm.url, store: config.redisUrl ? 'redis' : 'memory', sessionPublicKey: mm.sessionPublicKey },
    'matchmaker listening',
  );
  const stop = () => {
    mm.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`matchmaker failed to start: ${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
