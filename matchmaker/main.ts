import { runMatchmaker } from './runMatchmaker.js';

// The matchmaker process: config from FARPLAY_MM_* (matchmaker/config.ts), pino, listen, stop on signals.
runMatchmaker(process.env).catch((error: unknown) => {
  process.stderr.write(`matchmaker failed to start: ${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
