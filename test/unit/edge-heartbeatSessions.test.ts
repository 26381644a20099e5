import { Value } from 'typebox/value';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  EdgeHeartbeatPayload,
  randomNonce,
  signEdgeMessage,
  verifyEdgeMessage,
} from '../../protocol/edgeRegistration.js';

const account = privateKeyToAccount(generatePrivateKey());

describe('heartbeats carry the edge’s running session ids, signed', () => {
  it('verifies with the ids it was signed with and refuses a changed, added or dropped id', async () => {
    const payload: EdgeHeartbeatPayload = {
      edge: account.address,
      activeSessions: 2,
      freeSlots: 2,
      encodeHeadroom: 0.5,
      activeSessionIds: ['s-1', 's-2'],
      issuedAt: Date.now(),
      nonce: randomNonce(),
      deployment: 'mm-test',
    };
    expect(Value.Check(EdgeHeartbeatPayload, payload)).toBe(true);
    const signature = await signEdgeMessage(account, 'EdgeHeartbeat', payload);
    await expect(
      verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload, signature, deployment: 'mm-test' }),
    ).resolves.toBeUndefined();
    for (const activeSessionIds of [['s-1', 's-3'], ['s-1', 's-2', 's-3'], ['s-1'], undefined]) {
      const { activeSessionIds: _, ...rest } = payload;
      const changed = activeSessionIds ? { ...rest, activeSessionIds } : rest;
      await expect(
        verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload: changed, signature, deployment: 'mm-test' }),
      ).rejects.toMatchObject({
        code: 'MM_BAD_SIGNATURE',
      });
    }
    // An id cannot smuggle the separator the signature joins them with.
    expect(Value.Check(EdgeHeartbeatPayload, { ...payload, activeSessionIds: ['s-1\ns-2'] })).toBe(false);
  });
});
