import { pino } from 'pino';
import { type EdgeConfigInput, parseEdgeConfig } from '../../edge/config.js';
import { createEdge } from '../../edge/createEdge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { playerTestDistDir } from '../../scripts/buildPlayer.js';

/**
 * A standalone edge on loopback serving the test build of the player page (silent, private candidates
 * allowed), listening on a free port; `config` overrides or adds fields. Close it with `server.close()`.
 */
export async function startPlayerEdge(
  config: EdgeConfigInput = {},
): Promise<{ server: EdgeServer; url: string }> {
  const server = await createEdge({
    config: parseEdgeConfig({
      port: 0,
      staticDir: playerTestDistDir,
      capacity: 2,
      logLevel: 'silent',
      allowPrivateCandidates: true,
      ...config,
    }),
    logger: pino({ level: 'silent' }),
  });
  const url = await server.listen({ port: 0 });
  return { server, url };
}
