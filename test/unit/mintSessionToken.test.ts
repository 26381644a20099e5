import { describe, expect, it } from 'vitest';
import { mintSessionToken, mintSessionTokenAsync } from '../../protocol/mintSessionToken.js';
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

  it('signs the same token on the thread pool (the matchmaker allocates with it)', async () => {
    const pair = generateSessionKeyPair();
    const parameters = {
      sessionId: 's-2',
      gameId: 'breakout',
      gameVersion: 3,
      edge: { edgeId: '0xabc', region: 'eu-west', url: 'https://edge.example:8700' },
      privateKey: importSessionPrivateKey(pair.privateKey),
      ttlSeconds: 10,
      nowMs: 1_800_000_000_500,
      owner: '0xABCDEF0000000000000000000000000000000001',
      checkers: { urls: ['http://checker.example'], quorum: 1 },
    };
    const answer = await mintSessionTokenAsync(parameters);
    expect(answer).toEqual(mintSessionToken(parameters));
    const claims = verifySessionToken({
      token: answer.token,
      publicKey: importSessionPublicKey(pair.publicKey),
      edgeId: '0xabc',
      now: 1_800_000_001,
    });
    expect(claims).toMatchObject({
      sid: 's-2',
      gv: 3,
      own: '0xabcdef0000000000000000000000000000000001',
      q: 1,
    });
  });
});
