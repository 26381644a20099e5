import { deploymentOf } from '../../protocol/deployment.js';
import {
  generateSessionKeyPair,
  importSessionPrivateKey,
  signSessionToken,
} from '../../protocol/sessionToken.js';

/**
 * The session-token key pair test matchmakers share (one per test file), so the signed edge messages the
 * test helpers make are for their deployment. A test that needs another deployment builds a matchmaker
 * with a key of its own.
 */
export const TEST_SESSION_KEYS = generateSessionKeyPair();
/** The deployment of matchmakers built with `TEST_SESSION_KEYS` (what test edge messages are signed for). */
export const TEST_DEPLOYMENT = deploymentOf(TEST_SESSION_KEYS.publicKey);

/** An `Authorization` header with a session token of `gameId` signed by `TEST_SESSION_KEYS` (what a player holds). */
export function testPlayerAuth(gameId: string, edgeId = `0x${'1'.repeat(40)}`): { authorization: string } {
  const iat = Math.floor(Date.now() / 1000);
  const key = importSessionPrivateKey(TEST_SESSION_KEYS.privateKey);
  return {
    authorization: `Bearer ${signSessionToken({ sid: 'test', gameId, edgeId, iat, exp: iat + 300 }, key)}`,
  };
}
