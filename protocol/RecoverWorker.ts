import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Address } from 'viem';
import { parseSignature, recoverAddress } from './recoverAddress.js';

// The worker: libsecp256k1 recovery and the address's keccak (cached per key), for batches of signatures.
// Plain JavaScript run with `eval`, so it needs no TypeScript loader in the worker (tsx, vitest).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const secp256k1 = require(workerData.secp256k1);
const sha3 = require(workerData.sha3);
const addresses = new Map();
parentPort.on('message', ({ id, digests, signatures, recids }) => {
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
  parentPort.postMessage({ id, out });
});`;

interface Job {
  digest: Uint8Array;
  rs: Buffer;
  recid: number;
  resolve: (address: Address | undefined) => void;
}

/**
 * `recoverAddress` on a worker thread: the matchmaker verifies a signed heartbeat of every edge every 2 s, and
 * the recovery (~50–100 µs of native code each) was the largest cost of a heartbeat on its one thread, which
 * allocations need. Requests made in one turn of the event loop go to the worker as one message. Same answers
 * as `recoverAddress` ('malleable' and malformed signatures are answered here, without the worker); should the
 * worker fail, the rest is recovered in this thread.
 */
export class RecoverWorker {
  #worker: Worker | undefined;
  #queue: Job[] = [];
  #flushing = false;
  readonly #inFlight = new Map<number, Job[]>();
  #nextId = 1;

  constructor() {
    const require = createRequire(import.meta.url);
    try {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { secp256k1: require.resolve('secp256k1'), sha3: require.resolve('js-sha3') },
      });
      worker.unref();
      worker.on('message', ({ id, out }: { id: number; out: (string | null)[] }) => {
        const jobs = this.#inFlight.get(id);
        this.#inFlight.delete(id);
        jobs?.forEach((job, i) => {
          job.resolve((out[i] ?? undefined) as Address | undefined);
        });
      });
      const fail = () => this.#fallBack();
      worker.on('error', fail);
      worker.on('exit', fail);
      this.#worker = worker;
    } catch {
      this.#worker = undefined;
    }
  }

  /** The lower-case address that signed `digest` (as `recoverAddress`). */
  recover(digest: Uint8Array, signature: string): Promise<Address | 'malleable' | undefined> {
    const parsed = parseSignature(signature);
    if (this.#worker === undefined) return Promise.resolve(recoverAddress(digest, signature));
    if (parsed === undefined || parsed === 'malleable') return Promise.resolve(parsed);
    return new Promise((resolve) => {
      this.#queue.push({ digest, rs: parsed.rs, recid: parsed.recid, resolve });
      if (!this.#flushing) {
        this.#flushing = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushing = false;
    const jobs = this.#queue;
    this.#queue = [];
    if (jobs.length === 0) return;
    if (this.#worker === undefined) {
      for (const job of jobs) job.resolve(recoverSync(job));
      return;
    }
    const digests = new Uint8Array(32 * jobs.length);
    const signatures = new Uint8Array(64 * jobs.length);
    const recids = new Uint8Array(jobs.length);
    jobs.forEach((job, i) => {
      digests.set(job.digest, 32 * i);
      signatures.set(job.rs, 64 * i);
      recids[i] = job.recid;
    });
    const id = this.#nextId++;
    this.#inFlight.set(id, jobs);
    this.#worker.postMessage({ id, digests, signatures, recids });
  }

  /** The worker failed: what it held and everything after is recovered in this thread. */
  #fallBack(): void {
    this.#worker = undefined;
    for (const jobs of this.#inFlight.values()) for (const job of jobs) job.resolve(recoverSync(job));
    this.#inFlight.clear();
  }

  /** Stops the worker (pending requests are answered in this thread). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#fallBack();
    await worker?.terminate();
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
