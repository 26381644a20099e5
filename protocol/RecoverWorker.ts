import { createRequire } from 'node:module';
import type { Address } from 'viem';
import { BatchWorker } from './BatchWorker.js';
import { parseSignature, recoverAddress } from './recoverAddress.js';

// The worker: libsecp256k1 recovery and the address's keccak (cached per key), for batches of signatures.
const WORKER_SOURCE = `
const secp256k1 = require(workerData.secp256k1);
const sha3 = require(workerData.sha3);
const addresses = new Map();
function handle({ digests, signatures, recids }) {
  const out = [];
  for (let i = 0; i < recids.length; i++) {
    try {
      const pub = secp256k1.ecdsaRecover(signatures.subarray(64 * i, 64 * i + 64), recids[i], digests.subarray(32 * i, 32 * i + 32), false);
      const key = Buffer.from(pub.buffer, pub.byteOffset, pub.byteLength).toString('latin1');
      let address = addresses.get(key);
      if (address === undefined) {
        address = '0x' + sha3.keccak256(pub.subarray(1)).slice(24);
        if (addresses.size >= 50000) addresses.clear();
        addresses.set(key, address);
      }
      out.push(address);
    } catch {
      out.push(null);
    }
  }
  return out;
}`;

interface Job {
  digest: Uint8Array;
  rs: Buffer;
  recid: number;
}

/**
 * `recoverAddress` on a worker thread (`BatchWorker`): the matchmaker verifies a signed heartbeat of every edge
 * every 2 s, and the recovery (~50–100 µs of native code each) was the largest cost of a heartbeat on its one
 * thread, which allocations need. Requests made in one turn of the event loop go to the worker as one message.
 * Same answers as `recoverAddress` ('malleable' and malformed signatures are answered here, without the worker);
 * should the worker fail, the rest is recovered in this thread.
 */
export class RecoverWorker {
  readonly #batch: BatchWorker<Job, Address | undefined>;

  constructor() {
    const require = createRequire(import.meta.url);
    this.#batch = new BatchWorker({
      source: WORKER_SOURCE,
      workerData: { secp256k1: require.resolve('secp256k1'), sha3: require.resolve('js-sha3') },
      pack(jobs) {
        const digests = new Uint8Array(32 * jobs.length);
        const signatures = new Uint8Array(64 * jobs.length);
        const recids = new Uint8Array(jobs.length);
        jobs.forEach((job, i) => {
          digests.set(job.digest, 32 * i);
          signatures.set(job.rs, 64 * i);
          recids[i] = job.recid;
        });
        return { batch: { digests, signatures, recids } };
      },
      inThread: recoverSync,
    });
  }

  /** The lower-case address that signed `digest` (as `recoverAddress`). */
  async recover(digest: Uint8Array, signature: string): Promise<Address | 'malleable' | undefined> {
    const parsed = parseSignature(signature);
    if (!this.#batch.running) return recoverAddress(digest, signature);
    if (parsed === undefined || parsed === 'malleable') return parsed;
    return (await this.#batch.run({ digest, rs: parsed.rs, recid: parsed.recid })) ?? undefined;
  }

  /** Stops the worker (pending requests are answered in this thread). */
  close(): Promise<void> {
    return this.#batch.close();
  }
}

function recoverSync(job: Job): Address | undefined {
  const signature = `0x${Buffer.concat([job.rs, Buffer.from([job.recid])]).toString('hex')}`;
  const address = recoverAddress(job.digest, signature);
  return address === 'malleable' ? undefined : address;
}

let shared: RecoverWorker | undefined;

/**
 * `recoverAddress` on this process's one shared `RecoverWorker` (started on first use; it does not keep the
 * process alive): what the matchmaker verifies edge messages with.
 */
export function recoverOffThread(
  digest: Uint8Array,
  signature: string,
): Promise<Address | 'malleable' | undefined> {
  shared ??= new RecoverWorker();
  return shared.recover(digest, signature);
}
