import { randomFillSync } from 'node:crypto';

/** Session ids come from a pooled CSPRNG buffer: one `randomFillSync` per 256 ids instead of one each. */
const idPool = Buffer.alloc(16 * 256);
let idOffset = idPool.length;

/** A fresh session id: 16 random bytes, base64url (22 characters). */
export function newSessionId(): string {
  if (idOffset >= idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  idOffset += 16;
  return idPool.toString('base64url', idOffset - 16, idOffset);
}
