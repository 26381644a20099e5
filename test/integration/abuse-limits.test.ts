import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import type { MatchmakerConfig } from '../../matchmaker/config.js';
import { TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import { startTestEdge } from './edge-support.js';
import {
  newEdgeAccount,
  playerKey,
  signedHeartbeat,
  signedRegistration,
  TEST_BUILT_IN_GAMES,
} from './matchmaker-support.js';

// Issue 8, "nobody starves the network": limits that protect the control plane, each answered with a
// catalogue code — edges are limited by what they sign (not by the players behind their address), the
// client address comes only through a trusted proxy, WebSocket upgrades are limited per address, and
// bodies are refused by their declared size (and uploads by their key) before they are read.

const apps: MatchmakerApp[] = [];
const edges: EdgeServer[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const edge of edges.splice(0)) await edge.close();
});

async function start(config: Partial<MatchmakerConfig> = {}): Promise<MatchmakerApp> {
  // The test edges' `pong` counts as a built-in game here.
  const app = await buildApp({
    config: {
      logLevel: 'silent',
      builtInGameIds: TEST_BUILT_IN_GAMES,
      sessionPrivateKey: TEST_SESSION_KEYS.privateKey,
      ...config,
    },
  });
  apps.push(app);
  return app;
}

/** Sends only the headers of a request that declares `length` body bytes; resolves with the answer. */
function headersOnly(
  url: string,
  method: string,
  headers: Record<string, string>,
  length: number,
): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { ...headers, 'content-length': String(length) } });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { code?: string }).code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, code });
        req.destroy();
      });
    });
    req.on('error', (error) => {
      if (!req.destroyed) reject(error);
    });
    // Headers go out; the body never does. An answer can only come from the headers.
    req.flushHeaders();
  });
}

describe('edges are limited by what they sign, not by their address', () => {
  it('a flood of catalogue requests from an edge’s address does not drop the edge (RATE_LIMITED for the flood only)', async () => {
    const app = await start({ rateLimitMax: 20 });
    const shared = '192.0.2.50';
    const edge = newEdgeAccount();
    const registered = await app.inject({
      method: 'POST',
      url: '/v1/edges/register',
      remoteAddress: shared,
      payload: await signedRegistration(edge),
    });
    expect(registered.statusCode).toBe(200);
    const codes: number[] = [];
    for (let i = 0; i < 40; i++) {
      codes.push((await app.inject({ url: '/v1/games', remoteAddress: shared })).statusCode);
    }
    expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0);
    expect((await app.inject({ url: '/v1/games', remoteAddress: shared })).json().code).toBe('RATE_LIMITED');
    // The edge behind that address keeps heartbeating.
    for (let i = 0; i < 3; i++) {
      const beat = await app.inject({
        method: 'POST',
        url: '/v1/edges/heartbeat',
        remoteAddress: shared,
        payload: await signedHeartbeat(edge),
      });
      expect(beat.statusCode, beat.body).toBe(200);
    }
  });

  it('each edge has its own bucket once its signature checks out; failures are counted per address', async () => {
    const app = await start({ edgeRateLimitMax: 4, edgeFailureLimitMax: 3 });
    const noisy = newEdgeAccount();
    const quiet = newEdgeAccount();
    const from = '192.0.2.60';
    for (const edge of [noisy, quiet]) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/edges/register',
        remoteAddress: from,
        payload: await signedRegistration(edge),
      });
      expect(res.statusCode).toBe(200);
    }
    const beat = async (edge: typeof noisy) =>
      app.inject({
        method: 'POST',
        url: '/v1/edges/heartbeat',
        remoteAddress: from,
        payload: await signedHeartbeat(edge),
      });
    for (let i = 0; i < 3; i++) expect((await beat(noisy)).statusCode).toBe(200);
    const over = await beat(noisy);
    expect(over.statusCode).toBe(429);
    expect(over.json().code).toBe('RATE_LIMITED');
    // The other edge at the same address is not affected.
    expect((await beat(quiet)).statusCode).toBe(200);
    // Messages that do not verify (another key's signature) are counted per address, then refused unread.
    const forged = await signedHeartbeat(quiet);
    forged.signature = (await signedHeartbeat(noisy)).signature;
    const liar = '192.0.2.61';
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/edges/heartbeat',
        remoteAddress: liar,
        payload: forged,
      });
      expect(res.json().code).toBe('MM_BAD_SIGNATURE');
    }
    const refused = await app.inject({
      method: 'POST',
      url: '/v1/edges/heartbeat',
      remoteAddress: liar,
      payload: await signedHeartbeat(quiet),
    });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('RATE_LIMITED');
    expect((await beat(quiet)).statusCode).toBe(200);
  });
});

describe('client address behind a load balancer', () => {
  const ask = (app: MatchmakerApp, forwardedFor: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: { 'x-forwarded-for': forwardedFor },
      payload: { gameId: 'pong', measurements: [], sessionKey: playerKey() },
    });

  async function withEdge(config: Partial<MatchmakerConfig>) {
    const app = await start({ maxReservationsPerClient: 1, ...config });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/edges/register',
      payload: await signedRegistration(newEdgeAccount(), { capacity: 8 }),
    });
    expect(res.statusCode).toBe(200);
    await app.matchmaker.refresh();
    return app;
  }

  it('believes X-Forwarded-For only from a configured trusted proxy', async () => {
    // No proxy trusted: a forged header does not make a client someone else.
    const direct = await withEdge({});
    expect((await ask(direct, '198.51.100.1')).statusCode).toBe(200);
    const spoofed = await ask(direct, '198.51.100.2');
    expect(spoofed.statusCode).toBe(429);
    expect(spoofed.json().code).toBe('MM_RESERVATION_LIMIT');
    // Behind a trusted proxy (the load balancer at 127.0.0.1), each forwarded client has its own cap.
    const proxied = await withEdge({ trustProxy: '127.0.0.1' });
    expect((await ask(proxied, '198.51.100.1')).statusCode).toBe(200);
    expect((await ask(proxied, '198.51.100.2')).statusCode).toBe(200);
    expect((await ask(proxied, '198.51.100.1')).json().code).toBe('MM_RESERVATION_LIMIT');
  });
});

describe('WebSocket upgrades are limited per address', () => {
  /** Tries an upgrade; resolves 'open' or the HTTP status and code of the refusal. */
  function upgrade(url: string): Promise<{ status: number; code?: string }> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.close();
        resolve({ status: 101 });
      });
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = (JSON.parse(text) as { code?: string }).code;
          } catch {
            code = undefined;
          }
          resolve(
            code === undefined ? { status: res.statusCode ?? 0 } : { status: res.statusCode ?? 0, code },
          );
        });
      });
      ws.once('error', (error) => {
        if (ws.readyState !== ws.CLOSED) reject(error);
      });
    });
  }

  it('matchmaker session events: past upgradeRateLimitMax an address gets 429 RATE_LIMITED', async () => {
    const app = await start({ upgradeRateLimitMax: 3 });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const events = `${url.replace('http', 'ws')}/v1/sessions/no-such-session/events`;
    for (let i = 0; i < 3; i++) expect((await upgrade(events)).code).not.toBe('RATE_LIMITED');
    expect(await upgrade(events)).toEqual({ status: 429, code: 'RATE_LIMITED' });
  });

  it('edge signalling: past maxUpgradesPerMinute an address gets 429 RATE_LIMITED', async () => {
    const server = await startTestEdge({ maxUpgradesPerMinute: 3 });
    edges.push(server);
    const signal = `${server.edge.url?.replace('http', 'ws')}/v1/signal?token=nope`;
    for (let i = 0; i < 3; i++) expect((await upgrade(signal)).status).toBe(101);
    expect(await upgrade(signal)).toEqual({ status: 429, code: 'RATE_LIMITED' });
  });
});

describe('bodies are refused before they are read', () => {
  it('a 60 MiB body on /v1/sessions is refused by its headers (413 JSON, 400 octet-stream)', async () => {
    const app = await start();
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const big = 60 * 1024 * 1024;
    expect(
      await headersOnly(`${url}/v1/sessions`, 'POST', { 'content-type': 'application/json' }, big),
    ).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(
      await headersOnly(`${url}/v1/sessions`, 'POST', { 'content-type': 'application/octet-stream' }, big),
    ).toEqual({ status: 400, code: 'BAD_REQUEST' }); // no parser for that type here: refused unread
    expect(
      await headersOnly(`${url}/v1/edges/heartbeat`, 'POST', { 'content-type': 'text/plain' }, big),
    ).toMatchObject({ status: 413 });
  });

  it('a package upload with a wrong key gets its 401 before its body is read', async () => {
    const app = await start({ studioApiKeys: 'acme=acme-key' });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const size = 32 * 1024 * 1024;
    expect(
      await headersOnly(
        `${url}/v1/studio/packages`,
        'PUT',
        { 'content-type': 'application/octet-stream', authorization: 'Bearer wrong-key' },
        size,
      ),
    ).toEqual({ status: 401, code: 'MM_BAD_API_KEY' });
    // The right key but a body over packageLimit: 413 from the declared length, unread.
    expect(
      await headersOnly(
        `${url}/v1/studio/packages`,
        'PUT',
        { 'content-type': 'application/octet-stream', authorization: 'Bearer acme-key' },
        128 * 1024 * 1024,
      ),
    ).toMatchObject({ status: 413 });
  });
});
