import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { FarplayError } from '../../protocol/errors.js';
import { RateBuckets } from '../../protocol/RateBuckets.js';
import type { Edge } from '../Edge.js';

/** The signalling WebSocket path. */
export const SIGNAL_PATH = '/v1/signal';

/** What `handleSignalUpgrade` returns: a way to stop taking upgrades and drop open sockets. */
export interface SignalUpgrade {
  /** Terminates open signalling sockets and stops the WebSocket server; idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `/v1/signal` WebSocket upgrades on `server`: the `?token=` goes to `edge.acceptSignalSocket`.
 * Other paths, and upgrades after close, get a 404; an address past `maxUpgradesPerMinute` gets a 429
 * (RATE_LIMITED) before its token is looked at. Messages up to 1 MiB are read so an oversized one can be
 * refused with our own close code (4413).
 */
export function handleSignalUpgrade(server: Server, edge: Edge): SignalUpgrade {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const upgrades = new RateBuckets({ max: edge.config.maxUpgradesPerMinute, windowMs: 60_000 });
  let closing: Promise<void> | undefined;
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://edge');
    } catch {
      socket.destroy();
      return;
    }
    if (url.pathname !== SIGNAL_PATH || closing || edge.closed) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!upgrades.take(request.socket.remoteAddress ?? '')) {
      const body = JSON.stringify(
        new FarplayError('RATE_LIMITED', 'too many signalling upgrades from this address').toBody(),
      );
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Retry-After: ${Math.ceil(upgrades.retryAfterMs() / 1000)}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    const token = url.searchParams.get('token');
    // A package game's manifest is looked up before the upgrade completes, so no message is missed.
    void edge.prepareGame(token).then(() => {
      if (closing || edge.closed) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => edge.acceptSignalSocket(ws, token));
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.off('upgrade', onUpgrade);
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      });
      return closing;
    },
  };
}
