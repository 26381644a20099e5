import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  defaultMatchmakerConfig,
  parseMatchmakerConfig,
  parseRedisClusterNodes,
  parseStudioKeys,
} from '../../matchmaker/config.js';
import {
  type EdgeHeartbeatPayload,
  randomNonce,
  signEdgeMessage,
  verifyEdgeMessage,
} from '../../protocol/edgeRegistration.js';
import { findError } from '../../protocol/errors.js';

const account = privateKeyToAccount(generatePrivateKey());
const deployment = 'mm-test-deployment';

function heartbeat(overrides: Partial<EdgeHeartbeatPayload> = {}): EdgeHeartbeatPayload {
  return {
    edge: account.address,
    activeSessions: 1,
    freeSlots: 3,
    encodeHeadroom: 0.75,
    issuedAt: Date.now(),
    nonce: randomNonce(),
    deployment,
    ...overrides,
  };
}

describe('signed edge messages', () => {
  it('verifies a message signed by the edge it names', async () => {
    const payload = heartbeat();
    const signature = await signEdgeMessage(account, 'EdgeHeartbeat', payload);
    await expect(
      verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload, signature, deployment }),
    ).resolves.toBeUndefined();
  });

  it('verifies the high-s twin of a signature as before (native recovery falls back to viem for it)', async () => {
    const payload = heartbeat();
    const signature = await signEdgeMessage(account, 'EdgeHeartbeat', payload);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const v = Number.parseInt(signature.slice(130), 16);
    const twin = `${signature.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}`;
    await expect(
      verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload, signature: twin, deployment }),
    ).resolves.toBeUndefined();
  });

  it('refuses a changed payload, another key, or another message kind', async () => {
    const payload = heartbeat();
    const signature = await signEdgeMessage(account, 'EdgeHeartbeat', payload);
    const changed = verifyEdgeMessage({
      kind: 'EdgeHeartbeat',
      payload: { ...payload, freeSlots: 99 },
      signature,
      deployment,
    });
    await expect(changed).rejects.toSatisfy((e) => findError(e, 'MM_BAD_SIGNATURE') !== undefined);
    const other = privateKeyToAccount(generatePrivateKey());
    const foreign = await signEdgeMessage(other, 'EdgeHeartbeat', payload);
    await expect(
      verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload, signature: foreign, deployment }),
    ).rejects.toSatisfy((e) => findError(e, 'MM_BAD_SIGNATURE') !== undefined);
    const report = {
      edge: account.address,
      sessionId: 's',
      event: 'ended' as const,
      reason: '',
      issuedAt: payload.issuedAt,
      nonce: payload.nonce,
      deployment,
    };
    await expect(
      verifyEdgeMessage({ kind: 'EdgeSessionReport', payload: report, signature, deployment }),
    ).rejects.toSatisfy((e) => findError(e, 'MM_BAD_SIGNATURE') !== undefined);
    await expect(
      verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload, signature: `0x${'00'.repeat(65)}`, deployment }),
    ).rejects.toSatisfy((e) => findError(e, 'MM_BAD_SIGNATURE') !== undefined);
  });

  it('refuses messages issued too long ago or in the future', async () => {
    for (const issuedAt of [Date.now() - 120_000, Date.now() + 120_000]) {
      const payload = heartbeat({ issuedAt });
      const signature = await signEdgeMessage(account, 'EdgeHeartbeat', payload);
      await expect(
        verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload, signature, maxAgeMs: 60_000, deployment }),
      ).rejects.toSatisfy((e) => findError(e, 'MM_STALE_MESSAGE') !== undefined);
    }
  });
});

describe('edge messages are bound to one matchmaker deployment', () => {
  it('refuses a message signed for another deployment, even with its name rewritten', async () => {
    const payload = heartbeat({ deployment: 'mm-other' });
    const signature = await signEdgeMessage(account, 'EdgeHeartbeat', payload);
    await expect(
      verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload, signature, deployment }),
    ).rejects.toSatisfy((e) => findError(e, 'MM_WRONG_DEPLOYMENT') !== undefined);
    // The deployment is in the signed domain: renaming it breaks the signature.
    await expect(
      verifyEdgeMessage({
        kind: 'EdgeHeartbeat',
        payload: { ...payload, deployment },
        signature,
        deployment,
      }),
    ).rejects.toSatisfy((e) => findError(e, 'MM_BAD_SIGNATURE') !== undefined);
  });

  it('refuses a message issued before `notBefore` (a restarted in-process matchmaker)', async () => {
    const payload = heartbeat({ issuedAt: Date.now() - 1000 });
    const signature = await signEdgeMessage(account, 'EdgeHeartbeat', payload);
    const check = { kind: 'EdgeHeartbeat' as const, payload, signature, deployment };
    await expect(verifyEdgeMessage({ ...check, notBefore: Date.now() })).rejects.toSatisfy(
      (e) => findError(e, 'MM_STALE_MESSAGE') !== undefined,
    );
    await expect(verifyEdgeMessage({ ...check, notBefore: payload.issuedAt })).resolves.toBeUndefined();
  });
});

describe('matchmaker config', () => {
  it('reads FARPLAY_MM_* with defaults and freezes the result', () => {
    const config = parseMatchmakerConfig({ FARPLAY_MM_PORT: '9100', FARPLAY_MM_EDGE_TTL_MS: '3000' });
    expect(config.port).toBe(9100);
    expect(config.edgeTtlMs).toBe(3000);
    expect(config.redisUrl).toBe('');
    expect(Object.isFrozen(config)).toBe(true);
    expect(defaultMatchmakerConfig().heartbeatMs).toBe(2000);
  });

  it('stops on bad config with a message naming the variable', () => {
    expect(() => parseMatchmakerConfig({ FARPLAY_MM_PORT: 'eighty' })).toThrow(/FARPLAY_MM_PORT/);
    expect(() => parseMatchmakerConfig({ FARPLAY_MM_EDGE_TTL_MS: '10' })).toThrow(/FARPLAY_MM_EDGE_TTL_MS/);
  });

  it('reads Redis Cluster nodes and refuses a list that is not host:port pairs', () => {
    const config = parseMatchmakerConfig({ FARPLAY_MM_REDIS_CLUSTER: '10.0.0.1:7000,redis-b:7001' });
    expect(parseRedisClusterNodes(config.redisCluster)).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b', port: 7001 },
    ]);
    expect(parseRedisClusterNodes(defaultMatchmakerConfig().redisCluster)).toEqual([]);
    expect(() => parseMatchmakerConfig({ FARPLAY_MM_REDIS_CLUSTER: 'redis://a:7000' })).toThrow(
      /FARPLAY_MM_REDIS_CLUSTER/,
    );
    expect(() => parseMatchmakerConfig({ FARPLAY_MM_REDIS_CLUSTER: 'a:7000,' })).toThrow(
      /FARPLAY_MM_REDIS_CLUSTER/,
    );
  });

  it('parses studio API keys', () => {
    expect([...parseStudioKeys('acme=k1, umbrella = k2,broken')]).toEqual([
      ['k1', 'acme'],
      ['k2', 'umbrella'],
    ]);
  });
});
