import { hexToBytes, keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { signDigest } from '../../checker/signDigest.js';
import { RecoverWorker } from '../../protocol/RecoverWorker.js';
import { recoverAddress } from '../../protocol/recoverAddress.js';

// The matchmaker recovers edge-message signers on a worker thread: the answers must be recoverAddress's.

const keys = Array.from({ length: 5 }, () => generatePrivateKey());
const digests = Array.from({ length: 40 }, (_, i) => hexToBytes(keccak256(toHex(`message ${i}`))));

describe('RecoverWorker', () => {
  it('recovers the signers of a batch as recoverAddress does, malleable and malformed signatures included', async () => {
    const worker = new RecoverWorker();
    try {
      const cases = digests.map((digest, i) => {
        const key = keys[i % keys.length] as `0x${string}`;
        return {
          digest,
          signature: signDigest(hexToBytes(key), digest),
          signer: privateKeyToAccount(key).address,
        };
      });
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const first = cases[0] as (typeof cases)[number];
      const s = BigInt(`0x${first.signature.slice(66, 130)}`);
      const twin = `${first.signature.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}1c`;
      const odd = [
        { digest: first.digest, signature: twin }, // high s
        { digest: first.digest, signature: `${first.signature.slice(0, 130)}1f` }, // recovery id 4
        { digest: first.digest, signature: `0x${'00'.repeat(64)}1b` }, // r = s = 0: nothing recovers
        { digest: first.digest, signature: '0x1234' },
      ];
      // All requested in one turn: one batch to the worker.
      const answers = await Promise.all([...cases, ...odd].map((c) => worker.recover(c.digest, c.signature)));
      cases.forEach((c, i) => {
        expect(answers[i]).toBe(c.signer.toLowerCase());
      });
      odd.forEach((c, i) => {
        expect(answers[cases.length + i]).toBe(recoverAddress(c.digest, c.signature));
      });
      expect(answers.slice(cases.length)).toEqual(['malleable', undefined, undefined, undefined]);
    } finally {
      await worker.close();
    }
  });

  it('answers in this thread once the worker is gone', async () => {
    const worker = new RecoverWorker();
    await worker.close();
    const key = keys[0] as `0x${string}`;
    const digest = digests[0] as Uint8Array;
    await expect(worker.recover(digest, signDigest(hexToBytes(key), digest))).resolves.toBe(
      privateKeyToAccount(key).address.toLowerCase(),
    );
  });
});
