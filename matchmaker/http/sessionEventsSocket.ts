import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { FarplayError, toFarplayError } from '../../protocol/errors.js';
import type { SessionEvent } from '../../protocol/playerApi.js';
import { clientAddressOf, type ProxyTrust } from '../../protocol/proxyTrust.js';
import { RateBuckets } from '../../protocol/RateBuckets.js';
import { decodeSessionProof, SessionActs } from '../../protocol/sessionProof.js';
import type { Matchmaker } from '../Matchmaker.js';

const eventsPath = /^\/v1\/sessions\/([A-Za-z0-9_-]{1,128})\/events$/;
/** Events sockets one session may hold open (a page and a reconnecting page). */
const MAX_WATCHERS_PER_SESSION = 2;

/** Answers a refused upgrade over plain HTTP with the error's status and catalogue body, then closes. */
function refuse(socket: Duplex, error: FarplayError): void {
  const body = JSON.stringify(error.toBody());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\nConnection: close\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Options of `attachSessionEventsSocket`. */
export interface SessionEventsSocketOptions {
  /** Which hops are trusted proxies (the client address of an upgrade). */
  trust: ProxyTrust;
  /** Upgrades per client address per window (RATE_LIMITED past it). */
  upgradesPerWindow: number;
  windowMs: number;
}

/**
 * The session events WebSocket (`/v1/sessions/:id/events`) on `server`'s upgrades: the player gets
 * `moved` (failover) or `ended`, then the socket closes. Upgrades are limited per client address (they
 * bypass fastify's rate limit) before the proof is checked. Returns the function that detaches it and
 * drops every socket.
 */
export function attachSessionEventsSocket(
  server: Server,
  matchmaker: Matchmaker,
  options: SessionEventsSocketOptions,
): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  const upgrades = new RateBuckets({ max: options.upgradesPerWindow, windowMs: options.windowMs });
  /** Open events sockets per session id. */
  const watchers = new Map<string, number>();
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const match = eventsPath.exec(path);
    if (!match) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!upgrades.take(clientAddressOf(request, options.trust))) {
      refuse(socket, new FarplayError('RATE_LIMITED', 'too many WebSocket upgrades from this address'));
      return;
    }
    const sessionId = match[1] as string;
    const proof = decodeSessionProof(
      new URLSearchParams((request.url ?? '').split('?')[1] ?? '').get('proof'),
    );
    if ((watchers.get(sessionId) ?? 0) >= MAX_WATCHERS_PER_SESSION) {
      refuse(socket, new FarplayError('MM_TOO_MANY_WATCHERS'));
      return;
    }
    // Only the session's key may watch it: the `moved` event carries the new session's token.
    matchmaker.proveOwner(sessionId, SessionActs.watch, proof).then(
      () => {
        if (socket.destroyed) return;
        wss.handleUpgrade(request, socket, head, (ws) => watch(ws, sessionId));
      },
      (error: unknown) => refuse(socket, toFarplayError(error)),
    );
  };
  const watch = (ws: WebSocket, sessionId: string) => {
    watchers.set(sessionId, (watchers.get(sessionId) ?? 0) + 1);
    const send = (event: SessionEvent) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
    };
    const unsubscribe = matchmaker.onSessionEvent(sessionId, (event) => {
      send(event);
      ws.close(1000, event.type);
    });
    let done = false;
    const stop = () => {
      if (done) return;
      done = true;
      unsubscribe();
      const n = (watchers.get(sessionId) ?? 1) - 1;
      if (n > 0) watchers.set(sessionId, n);
      else watchers.delete(sessionId);
    };
    ws.on('close', stop);
    ws.on('error', stop);
    ws.on('message', () => {}); // the player sends nothing; ignore
    matchmaker.session(sessionId).catch(() => {
      send({ type: 'ended', reason: 'unknown-session' });
      ws.close(4404, 'unknown session');
    });
  };
  server.on('upgrade', onUpgrade);
  return () => {
    server.off('upgrade', onUpgrade);
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  };
}
