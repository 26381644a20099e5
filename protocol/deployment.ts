import { createHash } from 'node:crypto';
import { type Hex, keccak256, stringToHex } from 'viem';

/**
 * A matchmaker deployment's id: every instance sharing one session-token key is one deployment
 * (`mm-` + the first 32 hex digits of SHA-256 over the base64url spki public key). Session-key proofs and
 * signed edge messages are bound to it, so what was signed for one matchmaker is refused by another.
 * An edge derives it from the token key it pins, never from what a matchmaker says.
 */
export function deploymentOf(sessionPublicKey: string): string {
  return `mm-${createHash('sha256').update(sessionPublicKey).digest('hex').slice(0, 32)}`;
}

/** The EIP-712 domain `salt` that binds a signed message to one deployment. */
export function deploymentSalt(deployment: string): Hex {
  return keccak256(stringToHex(deployment));
}
