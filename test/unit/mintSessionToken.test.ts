import { describe, expect, it } from 'vitest';
import { mintSessionToken } from '../../protocol/mintSessionToken.js';
import {
  generateSessionKeyPair,
  importSessionPrivateKey,
  importSessionPublicKey,
  verifySessionToken,
} from '../../protocol/sessionToken.js';

describe('mintSessionToken', () => {
  it('answers with a token the edge verifies and its signalling URL', () => {
    const pair = generateSessionKeyPair();
    const nowMs = 1_800_000_000_500;
    const answer = mintSessionToken({
      sessionId: 's-1',
      gameId: 'breakout',
      edge: { edgeId: '0xabc', region: 'eu-west', url: 'https://edge.example:8700/' },
      privateKey: importSessionPrivateKey(pair.privateKey),
      ttlSeconds: 60,
      nowMs,
    });
    expect(answer.edge).toEqual({
      edgeId: '0xabc',
      region: 'eu-west',
      url: 'https://edge.example:8700',
      signalUrl: 'wss://edge.example:8700/v1/signal',
    });
    expect(answer.expiresAt).toBe((1_800_000_000 + 60) * 1000);
    const claims = verifySessionToken({
      token: answer.token,
      publicKey: importSessionPublicKey(pair.publicKey),
      edgeId: '0xABC',
      now: 1_800_000_010,
    });
    expect(claims).toMatchObject({ sid: 's-1', gameId: 'breakout', edgeId: '0xabc', exp: 1_800_000_060 });
  });
});
