import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { matchmakerStunServers, resolveIceServers } from '../../edge/control/matchmakerStun.js';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';

// Issue 8: an edge with no ICE servers configured uses the matchmaker's STUN responder (its UDP probe port)
// instead of none, and never a server that does not answer.

const apps: MatchmakerApp[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
});

describe("the edge's default STUN server", () => {
  it('is the matchmaker: stun:<its host>:<its UDP probe port>, checked with a real Binding request', async () => {
    const app = await buildApp({ config: { logLevel: 'silent' } });
    apps.push(app);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = (await app.inject({ url: '/v1/operator/udp-probe' })).json() as { port: number };
    const expected = [{ urls: `stun:127.0.0.1:${port}` }];
    expect(await matchmakerStunServers(url)).toEqual(expected);
    const config = { iceServers: [], matchmakerUrl: url, matchmakerStun: true };
    expect(await resolveIceServers(config)).toEqual(expected);
    // Configured servers win; the default can be turned off; without a matchmaker there is none.
    const own = [{ urls: 'stun:stun.example.org:3478' }];
    expect(await resolveIceServers({ ...config, iceServers: own })).toEqual(own);
    expect(await resolveIceServers({ ...config, matchmakerStun: false })).toEqual([]);
    expect(await resolveIceServers({ iceServers: [], matchmakerStun: true })).toEqual([]);
  });

  it('falls back to host candidates when the named port does not answer STUN, or no port is named', async () => {
    // A matchmaker behind an HTTP-only proxy: it names a UDP port that nothing answers on.
    const silent = createSocket('udp4');
    silent.bind(0, '127.0.0.1');
    await once(silent, 'listening');
    const server = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ port: silent.address().port }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await expect(matchmakerStunServers(url)).rejects.toThrow(/no STUN answer/);
      expect(await resolveIceServers({ iceServers: [], matchmakerUrl: url, matchmakerStun: true })).toEqual(
        [],
      );
      // Nothing listening at all.
      const closed = { iceServers: [], matchmakerUrl: 'http://127.0.0.1:9', matchmakerStun: true };
      expect(await resolveIceServers(closed)).toEqual([]);
    } finally {
      server.close();
      silent.close();
    }
  });
});
