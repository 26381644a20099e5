import { Worker } from 'node:worker_threads';

/** What a `BatchWorker` needs: the worker's code, how a batch travels, and the same work in this thread. */
export interface BatchWorkerOptions<J, R> {
  /**
   * Plain JavaScript (run with `eval`: no TypeScript loader needed in the worker) defining
   * `function handle(batch, workerData)` that returns one result per job of the batch, in order.
   */
  source: string;
  workerData?: unknown;
  /** The message a batch of jobs travels as (what `handle` receives), and what to transfer with it. */
  pack(jobs: readonly J[]): { batch: unknown; transfer?: ArrayBuffer[] };
  /** One job in this thread: the worker could not start, or failed. */
  inThread(job: J): R;
}

type Pending<J, R> = { job: J; resolve: (result: R) => void; reject: (error: unknown) => void }[];

/**
 * Work moved to a worker thread, batched: the jobs asked for in one turn of the event loop go to the worker as
 * one message and come back as one (one wake-up of each thread per batch instead of per job). If the worker
 * cannot start or fails, the jobs it held and every later one are done in this thread. It does not keep the
 * process alive.
 */
export class BatchWorker<J, R> {
  readonly #options: BatchWorkerOptions<J, R>;
  #worker: Worker | undefined;
  #queue: Pending<J, R> = [];
  #flushing = false;
  readonly #inFlight = new Map<number, Pending<J, R>>();
  #nextId = 1;

  constructor(options: BatchWorkerOptions<J, R>) {
    this.#options = options;
    try {
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
${options.source}
parentPort.on('message', ({ id, batch }) => parentPort.postMessage({ id, out: handle(batch, workerData) }));`,
        { eval: true, workerData: options.workerData },
      );
      worker.unref();
      worker.on('message', ({ id, out }: { id: number; out: R[] }) => {
        const jobs = this.#inFlight.get(id);
        this.#inFlight.delete(id);
        jobs?.forEach((job, i) => {
          job.resolve(out[i] as R);
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

  /** Whether jobs go to the worker (false: done in this thread). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  run(job: J): Promise<R> {
    if (this.#worker === undefined) return this.#inThread(job);
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
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
      this.#settleInThread(jobs);
      return;
    }
    const id = this.#nextId++;
    this.#inFlight.set(id, jobs);
    const { batch, transfer } = this.#options.pack(jobs.map((j) => j.job));
    this.#worker.postMessage({ id, batch }, transfer);
  }

  #inThread(job: J): Promise<R> {
    try {
      return Promise.resolve(this.#options.inThread(job));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #settleInThread(jobs: Pending<J, R>): void {
    for (const { job, resolve, reject } of jobs) this.#inThread(job).then(resolve, reject);
  }

  /** The worker failed: what it held and everything after is done in this thread. */
  #fallBack(): void {
    this.#worker = undefined;
    for (const jobs of this.#inFlight.values()) this.#settleInThread(jobs);
    this.#inFlight.clear();
  }

  /** Stops the worker (pending jobs are done in this thread). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#fallBack();
    await worker?.terminate();
  }
}
