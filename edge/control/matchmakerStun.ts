import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';
import type { EdgeConfig } from '../config.js';

type IceServers = EdgeConfig['iceServers'];

/**
 * Whether a STUN server at `host`:`port` answers one Binding request (RFC 8489: a success response carrying
 * the request's transaction id) within `timeoutMs`.
 */
export async function stunAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  const { address, family } = await lookup(host.replace(/^\[|\]$/g, ''));
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  const transaction = randomBytes(12);
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0); // Binding request, no attributes
  request.writeUInt32BE(0x2112a442, 4); // magic cookie
  transaction.copy(request, 8);
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      socket.on('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      socket.on('message', (m) => {
        if (m.length >= 20 && m.readUInt16BE(0) === 0x0101 && m.subarray(8, 20).equals(transaction)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      socket.send(request, port, address);
    });
  } finally {
    socket.close();
  }
}

/**
 * The matchmaker as a STUN server: `stun:<matchmaker host>:<port>`, the port from
 * `GET /v1/operator/udp-probe` (that UDP port answers STUN Binding requests, matchmaker/stunBinding.ts).
 * Throws when the matchmaker does not answer with a port within `timeoutMs`, or the port does not answer a
 * Binding request (a matchmaker behind an HTTP proxy: ICE would wait on a server that never answers).
 */
export async function matchmakerStunServers(matchmakerUrl: string, timeoutMs = 5000): Promise<IceServers> {
  const response = await fetch(new URL('/v1/operator/udp-probe', matchmakerUrl), {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`matchmaker udp-probe: HTTP ${response.status}`);
  const { port } = (await response.json()) as { port?: unknown };
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535)
    throw new Error('matchmaker udp-probe: no port');
  // URL.hostname keeps an IPv6 literal's brackets, as a stun: URI wants them.
  const host = new URL(matchmakerUrl).hostname;
  if (!(await stunAnswers(host, port))) throw new Error(`no STUN answer from ${host}:${port}`);
  return [{ urls: `stun:${host}:${port}` }];
}

/**
 * The ICE servers the edge uses: its `iceServers` when set; else, with a matchmaker and `matchmakerStun`
 * (default true), the matchmaker's STUN responder; else none. A matchmaker that does not say its port
 * (older, or not ready) or whose port does not answer STUN leaves the edge with host candidates only, logged.
 */
export async function resolveIceServers(
  config: Pick<EdgeConfig, 'iceServers' | 'matchmakerUrl' | 'matchmakerStun'>,
  logger?: Logger,
): Promise<IceServers> {
  if (config.iceServers.length > 0 || !config.matchmakerUrl || !config.matchmakerStun)
    return config.iceServers;
  try {
    const servers = await matchmakerStunServers(config.matchmakerUrl);
    logger?.info({ iceServers: servers }, 'using the matchmaker as STUN server');
    return servers;
  } catch (error) {
    logger?.warn({ err: error }, 'matchmaker STUN port unknown; host candidates only');
    return [];
  }
}
