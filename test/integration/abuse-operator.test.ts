import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import type { MatchmakerConfig } from '../../matchmaker/config.js';

// Issue 8, the matchmaker's smaller holes: operator endpoints are the operator's, studio keys work whole
// (a key with '=') and only whole, and packages in memory are bounded.

const apps: MatchmakerApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function start(config: Partial<MatchmakerConfig> = {}): Promise<MatchmakerApp> {
  const app = await buildApp({ config: { logLevel: 'silent', ...config } });
  apps.push(app);
  return app;
}

describe('operator endpoints', () => {
  it('/metrics and /docs answer MM_OPERATOR_ONLY to the world, and serve the operator', async () => {
    const app = await start({ operatorToken: 'op-secret' });
    for (const url of ['/metrics', '/docs', '/docs/json']) {
      const outsider = await app.inject({ url, remoteAddress: '203.0.113.9' });
      expect(outsider.statusCode, url).toBe(403);
      expect(outsider.json().code).toBe('MM_OPERATOR_ONLY');
      const wrong = await app.inject({
        url,
        remoteAddress: '203.0.113.9',
        headers: { authorization: 'Bearer op-secreT' },
      });
      expect(wrong.json().code).toBe('MM_OPERATOR_ONLY');
      const operator = await app.inject({
        url,
        remoteAddress: '203.0.113.9',
        headers: { authorization: 'Bearer op-secret' },
      });
      expect([200, 302]).toContain(operator.statusCode);
    }
    // Through a proxy on this machine (a forwarding header): not the operator without the token.
    const proxied = await app.inject({ url: '/metrics', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(proxied.json().code).toBe('MM_OPERATOR_ONLY');
    // From the matchmaker's own machine.
    expect((await app.inject({ url: '/metrics' })).body).toContain('farplay_mm_allocations_total');
  });
});

describe('studio keys and packages', () => {
  const put = (app: MatchmakerApp, key: string, bytes: Buffer) =>
    app.inject({
      method: 'PUT',
      url: '/v1/studio/packages',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream' },
      payload: bytes,
    });

  it('a key with "=" works whole and only whole', async () => {
    const app = await start({ studioApiKeys: 'acme=c2VjcmV0a2V5==' });
    expect((await put(app, 'c2VjcmV0a2V5==', Buffer.from('pkg'))).statusCode).toBe(200);
    for (const key of ['c2VjcmV0a2V5', 'c2VjcmV0a2V5=', 'c2VjcmV0a2V5===', '']) {
      const res = await put(app, key, Buffer.from('pkg'));
      expect(res.statusCode, key).toBe(401);
      expect(res.json().code).toBe('MM_BAD_API_KEY');
    }
  });

  it('packages kept in memory are bounded (MM_PACKAGE_STORE_FULL), an existing one is still accepted', async () => {
    const app = await start({ studioApiKeys: 'acme=k1', packageMemoryLimit: 64 * 1024 });
    const a = Buffer.alloc(40 * 1024, 1);
    const b = Buffer.alloc(40 * 1024, 2);
    expect((await put(app, 'k1', a)).statusCode).toBe(200);
    const full = await put(app, 'k1', b);
    expect(full.statusCode).toBe(507);
    expect(full.json().code).toBe('MM_PACKAGE_STORE_FULL');
    expect((await put(app, 'k1', a)).statusCode).toBe(200);
  });
});
