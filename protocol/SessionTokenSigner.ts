import { type KeyObject, sign } from 'node:crypto';
import { BatchWorker } from './BatchWorker.js';
import { type SessionClaims, sessionTokenBody } from './sessionToken.js';

// The worker: Ed25519 signatures of token bodies with the key it was started with.
const WORKER_SOURCE = `
const { createPrivateKey, sign } = require('node:crypto');
const key = createPrivateKey({ key: Buffer.from(workerData.pkcs8), format: 'der', type: 'pkcs8' });
function handle(bodies) {
  return bodies.map((body) => sign(null, Buffer.from(body), key).toString('base64url'));
}`;

/**
 * Signs session tokens (`signSessionToken`, same tokens) on a worker thread, the tokens asked for in one turn of
 * the event loop as one batch (`BatchWorker`): the matchmaker's allocations, whose one thread the Ed25519
 * signature (~25–60 µs each) was the largest single cost of. Signing on libuv's thread pool instead (the callback
 * form of `crypto.sign`) woke a pool thread per token: on a busy 2-core machine the main thread was preempted in
 * the call, 20 µs per token on average and stalls of 15 ms. Should the worker fail, tokens are signed in this thread.
 */
export class SessionTokenSigner {
  readonly #batch: BatchWorker<string, string>;

  constructor(privateKey: KeyObject) {
    this.#batch = new BatchWorker({
      source: WORKER_SOURCE,
      workerData: { pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }) },
      pack: (bodies) => ({ batch: bodies }),
      inThread: (body) => sign(null, Buffer.from(body), privateKey).toString('base64url'),
    });
  }

  /** The token for `claims`. */
  async sign(claims: SessionClaims): Promise<string> {
    const body = sessionTokenBody(claims);
    return `${body}.${await this.#batch.run(body)}`;
  }

  /** Stops the worker (tokens asked for later are signed in this thread). */
  close(): Promise<void> {
    return this.#batch.close();
  }
}
