// The edge process: reads FARPLAY_EDGE_* config, builds the logger, probes encoders, serves.
import { pino } from 'pino';
import { findError } from '../protocol/errors.js';
import { loadEdgeConfig } from './config.js';
import { createEdge } from './createEdge.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadEdgeConfig>;
  try {
    config = loadEdgeConfig(process.env);
  } catch (error) {
    process.stderr.write(`${findError(error)?.message ?? String(error)}\n`);
    process.exit(2);
  }
  const logger = pino({
    level: config.logLevel,
    redact: ['config.nodePrivateKey', 'token', '*.token', 'req.query.token'],
  });
  const edge = await createEdge({ config, logger });
  const url = await edge.listen();
  logger.info({ url, edgeId: edge.id, standalone: edge.standalone }, 'edge ready');
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
  process.stderr.write(`edge failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
