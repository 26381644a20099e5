import { describe, expect, it } from 'vitest';
import { mintSessionToken, mintSessionTokenAsync } from '../../protocol/mintSessionToken.js';
import { SessionTokenSigner } from '../../protocol/SessionTokenSigner.js';
import {
  generateSessionKeyPair,
  importSessionPrivateKey,
  importSessionPublicKey,
  signSessionToken,
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

  it('signs the same token on the signing worker (the matchmaker allocates with it)', async () => {
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
    const signer = new SessionTokenSigner(parameters.privateKey);
    const answer = await mintSessionTokenAsync(parameters, signer).finally(() => signer.close());
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

  it('signs a batch on the worker as in this thread, and after the worker is closed', async () => {
    const pair = generateSessionKeyPair();
    const privateKey = importSessionPrivateKey(pair.privateKey);
    const signer = new SessionTokenSigner(privateKey);
    const claims = Array.from({ length: 20 }, (_, i) => ({
      sid: `s-${i}`,
      gameId: 'breakout',
      edgeId: '0xabc',
      iat: 1_800_000_000,
      exp: 1_800_000_010,
    }));
    // Asked for in one turn: one batch to the worker.
    const tokens = await Promise.all(claims.map((c) => signer.sign(c)));
    expect(tokens).toEqual(claims.map((c) => signSessionToken(c, privateKey)));
    await signer.close();
    expect(await signer.sign(claims[0] as (typeof claims)[number])).toBe(tokens[0]);
  });
});
