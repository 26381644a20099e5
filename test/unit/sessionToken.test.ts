import { describe, expect, it } from 'vitest';
import { findError } from '../../protocol/errors.js';
import {
  generateSessionKeyPair,
  importSessionPrivateKey,
  importSessionPublicKey,
  signSessionToken,
  verifySessionToken,
} from '../../protocol/sessionToken.js';

const keys = generateSessionKeyPair();
const privateKey = importSessionPrivateKey(keys.privateKey);
const publicKey = importSessionPublicKey(keys.publicKey);
const claims = { sid: 's-1', gameId: 'breakout', edgeId: '0xAbC', iat: 1000, exp: 1060 };

describe('session tokens', () => {
  it('verifies offline on the edge it was issued for', () => {
    const token = signSessionToken(claims, privateKey);
    expect(verifySessionToken({ token, publicKey, edgeId: '0xabc', now: 1030 })).toEqual(claims);
  });

  it.each([
    ['another edge', (t: string) => t, '0xdef', 1030, 'EDGE_BAD_TOKEN'],
    ['expired', (t: string) => t, '0xabc', 2000, 'EDGE_TOKEN_EXPIRED'],
    [
      'tampered claims',
      (t: string) => t.replace(/\.[^.]+\./, `.${Buffer.from('{"sid":"x"}').toString('base64url')}.`),
      '0xabc',
      1030,
      'EDGE_BAD_TOKEN',
    ],
    ['garbage', () => 'not a token', '0xabc', 1030, 'EDGE_BAD_TOKEN'],
    ['oversized', () => 'v1.'.padEnd(5000, 'a'), '0xabc', 1030, 'EDGE_BAD_TOKEN'],
  ] as const)('refuses a token: %s', (_name, mangle, edgeId, now, code) => {
    const token = mangle(signSessionToken(claims, privateKey));
    let caught: unknown;
    try {
      verifySessionToken({ token, publicKey, edgeId, now });
    } catch (error) {
      caught = error;
    }
    expect(findError(caught, code)).toBeDefined();
  });

  it('refuses a token signed by another key', () => {
    const other = importSessionPrivateKey(generateSessionKeyPair().privateKey);
    const token = signSessionToken(claims, other);
    expect(() => verifySessionToken({ token, publicKey, edgeId: '0xabc', now: 1030 })).toThrow(/signature/);
  });
});
