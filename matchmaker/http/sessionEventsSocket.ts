import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { SessionEvent } from '../../protocol/playerApi.js';
import type { Matchmaker } from '../Matchmaker.js';

const eventsPath = /^\/v1\/sessions\/([A-Za-z0-9_-]{1,128})\/events$/;

/**
 * The session events WebSocket (`/v1/sessions/:id/events`) on `server`'s upgrades: the player gets
 * `moved` (failover) or `ended`, then the socket closes. Returns the function that detaches it and
 * drops every socket.
 */
export function attachSessionEventsSocket(server: Server, matchmaker: Matchmaker): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const match = eventsPath.exec(path);
    if (!match) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const sessionId = match[1] as string;
    wss.handleUpgrade(request, socket, head, (ws) => {
      const send = (event: SessionEvent) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
      };
      const unsubscribe = matchmaker.onSessionEvent(sessionId, (event) => {
        send(event);
        ws.close(1000, event.type);
      });
      ws.on('close', unsubscribe);
      ws.on('error', unsubscribe);
      ws.on('message', () => {}); // the player sends nothing; ignore
      matchmaker.session(sessionId).catch(() => {
        send({ type: 'ended', reason: 'unknown-session' });
        ws.close(4404, 'unknown session');
      });
    });
  };
  server.on('upgrade', onUpgrade);
  return () => {
    server.off('upgrade', onUpgrade);
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  };
}
