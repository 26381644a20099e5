import { type MintSessionTokenParameters, mintSessionToken } from '../../protocol/mintSessionToken.js';
import {
  generateSessionKeyPair,
  importSessionPrivateKey,
  importSessionPublicKey,
  verifySessionToken,
} from '../../protocol/sessionToken.js';

/**
 * The claims edge `0xabc` verifies in a token minted, with a fresh key pair, for session `s-1` (breakout, 60 s) and
 * `extra` (its checkers, billing id, …): what the matchmaker signs in, as the edge reads it.
 */
export function mintedClaims(extra: Partial<MintSessionTokenParameters>) {
  const pair = generateSessionKeyPair();
  const answer = mintSessionToken({
    sessionId: 's-1',
    gameId: 'breakout',
    edge: { edgeId: '0xabc', region: 'eu-west', url: 'http://edge:8700' },
    privateKey: importSessionPrivateKey(pair.privateKey),
    ttlSeconds: 60,
    nowMs: 1_800_000_000_000,
    ...extra,
  });
  return verifySessionToken({
    token: answer.token,
    publicKey: importSessionPublicKey(pair.publicKey),
    edgeId: '0xabc',
    now: 1_800_000_001,
  });
}
