import { pino } from 'pino';
import { buildApp } from './buildApp.js';
import { parseCheckerConfig } from './config.js';

// The checker process: config from FARPLAY_CHECKER_* (checker/config.ts), pino, listen, stop on signals.
async function main(): Promise<void> {
  let config: ReturnType<typeof parseCheckerConfig>;
  try {
    config = parseCheckerConfig(process.env);
    for (const [key, env] of [
      ['escrowAddress', 'FARPLAY_CHECKER_ESCROW_ADDRESS'],
      ['stakingAddress', 'FARPLAY_CHECKER_STAKING_ADDRESS'],
    ] as const) {
      if (config[key] === undefined) throw new Error(`bad checker config ${key} (${env}): required`);
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino({ level: config.logLevel, redact: ['*.privateKey', '*.signature'] });
  const app = await buildApp({ config, logger });
  const url = await app.listen({ host: config.host, port: config.port });
  logger.info(
    {
      url,
      checker: app.checker.address,
      policyHash: app.checker.policyHash,
      store: config.redisUrl ? 'redis' : 'memory',
    },
    'checker listening',
  );
  const stop = () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`checker failed to start: ${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
