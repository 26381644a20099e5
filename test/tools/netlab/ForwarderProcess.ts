import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NetLabError } from './NetLabError.js';

/** Forwarder counters: per-port frames and drops, and how late frames left versus their schedule. */
export interface NetLabStats {
  queued: number;
  flooded: number;
  rtSched: number;
  late: { count: number; p50Us: number; p99Us: number; p999Us: number; maxUs: number };
  ports: {
    name: string;
    rx: number;
    tx: number;
    dropLoss: number;
    dropDown: number;
    dropQueue: number;
    dropWrite: number;
  }[];
}

/**
 * The forwarder process (root namespace) owning one TAP per interface name: a line protocol on
 * stdin/stdout (`ready`, then one answer line per command; `err …` on failure). It exits on stdin EOF.
 */
export class ForwarderProcess {
  readonly #child: ChildProcess & { stdin: NonNullable<ChildProcess['stdin']> };
  readonly #waiting: ((line: string) => void)[] = [];
  #stderr = '';
  #exited = false;

  constructor(binary: string, ifaces: readonly string[]) {
    const child = spawn(binary, [...ifaces], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    const lines = createInterface({ input: child.stdout });
    child.stderr.on('data', (d: Buffer) => {
      this.#stderr += d.toString();
    });
    child.on('exit', () => {
      this.#exited = true;
      for (const w of this.#waiting.splice(0)) w('err forwarder exited');
    });
    child.stdin.on('error', () => undefined); // EPIPE after the forwarder exits; the lab's close() handles it
    lines.on('line', (line) => this.#waiting.shift()?.(line));
  }

  /** Its pid, or -1 if it never started. */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** What it printed on stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** The next line it prints (`err forwarder exited` once it is gone). */
  nextLine(): Promise<string> {
    return new Promise((resolve) => {
      if (this.#exited) resolve('err forwarder exited');
      else this.#waiting.push(resolve);
    });
  }

  /** Sends one command and returns its answer line; an `err` answer throws NETLAB_SETUP_FAILED. */
  async command(command: string): Promise<string> {
    const answer = this.nextLine();
    this.#child.stdin.write(`${command}\n`);
    const line = await answer;
    if (line.startsWith('err')) throw new NetLabError('NETLAB_SETUP_FAILED', `forwarder: ${line}`);
    return line;
  }

  /** Closes its stdin (it exits on EOF, its TAPs vanish) and waits up to `timeoutMs` for it to exit. */
  async end(timeoutMs: number): Promise<void> {
    const gone = new Promise<void>((resolve) => {
      if (this.#exited) resolve();
      else this.#child.once('exit', () => resolve());
    });
    this.#child.stdin.end();
    await Promise.race([gone, new Promise((r) => setTimeout(r, timeoutMs))]);
  }

  /** SIGKILLs it unless it has exited (synchronous, idempotent). */
  kill(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }
}
