import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { FarplayError } from '../protocol/errors.js';

/**
 * Stateless nonces for capability snapshots: `issuedAt (8 bytes) | random (16) | HMAC (16)`, base64url.
 * Every matchmaker instance derived from the same secret (the shared session-token key) accepts the
 * nonces of the others, so no store write is needed and the nonce still proves when the bench began.
 */
export class CapabilityNonces {
  readonly #key: Buffer;
  readonly #now: () => number;

  /** `secret`: key material shared by the instances; `now`: clock (default Date.now). */
  constructor(secret: Uint8Array, now: () => number = Date.now) {
    this.#key = createHash('sha256').update('farplay capability nonce v1').update(secret).digest();
    this.#now = now;
  }

  /** A fresh nonce and the time it was issued (unix ms). */
  issue(): { nonce: string; issuedAt: number } {
    const issuedAt = this.#now();
    const body = Buffer.alloc(24);
    body.writeBigUInt64BE(BigInt(issuedAt), 0);
    randomBytes(16).copy(body, 8);
    return { nonce: Buffer.concat([body, this.#mac(body)]).toString('base64url'), issuedAt };
  }

  /**
   * Checks that `nonce` was issued by this network no more than `maxAgeMs` ago; returns when it was
   * issued. Throws `OPERATOR_BAD_CAPABILITY` otherwise.
   */
  verify(nonce: string, maxAgeMs: number): number {
    const bytes = Buffer.from(nonce, 'base64url');
    if (bytes.length !== 40)
      throw new FarplayError('OPERATOR_BAD_CAPABILITY', 'capability nonce is malformed');
    const body = bytes.subarray(0, 24);
    if (!timingSafeEqual(bytes.subarray(24), this.#mac(body))) {
      throw new FarplayError(
        'OPERATOR_BAD_CAPABILITY',
        'capability nonce was not issued by this matchmaker network',
      );
    }
    const issuedAt = Number(body.readBigUInt64BE(0));
    const age = this.#now() - issuedAt;
    if (age > maxAgeMs || age < -60_000) {
      throw new FarplayError(
        'OPERATOR_BAD_CAPABILITY',
        'capability snapshot has expired: run `farplay-edge bench` again',
        { details: { issuedAt, maxAgeMs } },
      );
    }
    return issuedAt;
  }

  #mac(body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(body).digest().subarray(0, 16);
  }
}
