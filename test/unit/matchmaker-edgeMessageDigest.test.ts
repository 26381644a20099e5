import { hashTypedData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  type EdgeHeartbeatPayload,
  type EdgeRegistrationPayload,
  type EdgeSessionReportPayload,
  edgeControlDomain,
  edgeControlTypes,
  edgeMessageDigest,
  randomNonce,
  signEdgeMessage,
  verifyEdgeMessage,
} from '../../protocol/edgeRegistration.js';

// The matchmaker hashes edge messages directly (protocol/hashTypedStruct.ts) instead of through viem's generic
// hashTypedData: the digests must be viem's, or an edge's signature (made by viem) would not verify.

const account = privateKeyToAccount(generatePrivateKey());
const peer = privateKeyToAccount(generatePrivateKey());
const deployment = 'mm-digest-test';

function viemDigest(kind: keyof typeof edgeControlTypes, message: Record<string, unknown>, dep = deployment) {
  return hashTypedData({
    domain: edgeControlDomain(dep),
    types: edgeControlTypes,
    primaryType: kind,
    message,
    // biome-ignore lint/suspicious/noExplicitAny: the message shapes are spelled out in each test
  } as any);
}

const heartbeat = (over: Partial<EdgeHeartbeatPayload> = {}): EdgeHeartbeatPayload => ({
  edge: account.address,
  activeSessions: 2,
  freeSlots: 3,
  encodeHeadroom: 0.753,
  activeSessionIds: ['s-1', 'séance-2'],
  activeSessionOwners: [peer.address.toLowerCase(), ''],
  peerRtts: [
    { edge: peer.address, rttMs: 12.3456 },
    { edge: account.address.toLowerCase(), rttMs: 0 },
  ],
  issuedAt: Date.now(),
  nonce: randomNonce(),
  deployment,
  ...over,
});

/** The heartbeat as it is signed (protocol/edgeRegistration.ts heartbeatMessage), spelled out again. */
const signed = (p: EdgeHeartbeatPayload) => ({
  edge: p.edge,
  activeSessions: p.activeSessions,
  freeSlots: p.freeSlots,
  encodeHeadroomMilli: Math.round(p.encodeHeadroom * 1000),
  sessionIds: (p.activeSessionIds ?? []).join('\n'),
  sessionOwners: (p.activeSessionOwners ?? []).join('\n'),
  peers: (p.peerRtts ?? []).map((r) => r.edge),
  peerRttsMicro: (p.peerRtts ?? []).map((r) => BigInt(Math.round(r.rttMs * 1000))),
  issuedAt: BigInt(p.issuedAt),
  nonce: p.nonce,
});

describe('edge message digests', () => {
  it('hashes a heartbeat as viem does (sessions, owners, peers; and without any of them)', () => {
    for (const p of [
      heartbeat(),
      heartbeat({ activeSessionIds: [], activeSessionOwners: [], peerRtts: [] }),
      (({ activeSessionIds, activeSessionOwners, peerRtts, ...bare }) => bare)(heartbeat()),
      heartbeat({ deployment: 'another-deployment', activeSessions: 100_000, encodeHeadroom: 1_000_000 }),
    ]) {
      expect(edgeMessageDigest('EdgeHeartbeat', p)).toBe(
        viemDigest('EdgeHeartbeat', signed(p), p.deployment),
      );
    }
  });

  it('hashes a registration (negative coordinates, games, runtimes) and a session report as viem does', () => {
    const registration: EdgeRegistrationPayload = {
      edge: account.address,
      region: 'sa-east',
      lat: -23.55052,
      lon: -46.633309,
      gpu: 'NVIDIA L4',
      encoders: ['h264_nvenc', 'libx264'],
      capacity: 8,
      pricePerMinute: '123456789012345678901234567890',
      version: '0.1.0',
      publicUrl: 'https://edge.example:8443',
      games: [
        {
          id: 'pong',
          title: 'Pong ☺',
          description: '',
          width: 1280,
          height: 720,
          fps: 60,
          pricePerMinute: '1000',
          input: ['keyboard', 'gamepad'],
        },
      ],
      runtimes: ['x11'],
      issuedAt: 1_764_000_000_000,
      nonce: randomNonce(),
      deployment,
    };
    expect(edgeMessageDigest('EdgeRegistration', registration)).toBe(
      viemDigest('EdgeRegistration', {
        edge: registration.edge,
        region: registration.region,
        latE6: -23550520,
        lonE6: -46633309,
        gpu: registration.gpu,
        encoders: registration.encoders,
        capacity: 8,
        pricePerMinute: 123456789012345678901234567890n,
        version: '0.1.0',
        publicUrl: registration.publicUrl,
        games: registration.games.map((g) => ({ ...g, pricePerMinute: BigInt(g.pricePerMinute) })),
        runtimes: ['x11'],
        issuedAt: BigInt(registration.issuedAt),
        nonce: registration.nonce,
      }),
    );
    const report: EdgeSessionReportPayload = {
      edge: account.address,
      sessionId: 'abc',
      event: 'ended',
      reason: 'edge-shutdown',
      issuedAt: 1,
      nonce: randomNonce(),
      deployment,
    };
    expect(edgeMessageDigest('EdgeSessionReport', report)).toBe(
      viemDigest('EdgeSessionReport', { ...report, issuedAt: 1n }),
    );
  });

  it('refuses what viem refuses: a mixed-case address with a wrong checksum, an integer out of range', async () => {
    const wrongChecksum = account.address.replace(/[a-f]/, (c) => c.toUpperCase());
    const p = heartbeat({ peerRtts: [{ edge: wrongChecksum, rttMs: 1 }] });
    expect(() => viemDigest('EdgeHeartbeat', signed(p))).toThrow();
    expect(() => edgeMessageDigest('EdgeHeartbeat', p)).toThrow();
    const tooMany = heartbeat({ freeSlots: 2 ** 32 });
    expect(() => viemDigest('EdgeHeartbeat', signed(tooMany))).toThrow();
    expect(() => edgeMessageDigest('EdgeHeartbeat', tooMany)).toThrow();
    // Through verification, a message that does not hash is a malformed signature, as before.
    const signature = await signEdgeMessage(account, 'EdgeHeartbeat', heartbeat());
    await expect(
      verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload: p, signature, deployment }),
    ).rejects.toMatchObject({ code: 'MM_BAD_SIGNATURE' });
  });

  it('verifies what an edge signs through viem', async () => {
    const p = heartbeat();
    const signature = await signEdgeMessage(account, 'EdgeHeartbeat', p);
    await expect(
      verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload: p, signature, deployment }),
    ).resolves.toBeUndefined();
  });
});
