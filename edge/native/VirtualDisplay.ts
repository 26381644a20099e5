import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { FarplayError } from '../../protocol/errors.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import { waitForExit } from './waitForExit.js';

/** Options of `VirtualDisplay.start`. */
export interface VirtualDisplayOptions {
  width: number;
  height: number;
  /** Colour depth (default 24). */
  depth?: number;
  /** X server binary (default 'Xvfb'). */
  binary?: string;
  /** How long the server may take to become ready, ms (default 10 s). */
  startTimeoutMs?: number;
  logger?: Logger;
}

/** Events of a VirtualDisplay: `exit` when the X server stops without `close()` having asked it to. */
export type VirtualDisplayEvents = { exit: [code: number | null, signal: NodeJS.Signals | null] };

/**
 * One X server per session (Xvfb: no GPU needed) with a display number of its own, listening only on its
 * Unix socket (`-nolisten tcp`; the game's sandbox sees that one socket and no other display's). Readiness
 * is the server's own handshake: with `-displayfd` Xvfb picks a free display number and writes it to the
 * pipe once it accepts connections, so no start-up sleep is needed and concurrent sessions never race for
 * a number.
 */
export class VirtualDisplay {
  /** Display number, e.g. 3 for ':3'. */
  readonly number: number;
  readonly width: number;
  readonly height: number;
  readonly #process: ChildProcess;
  readonly #events: TypedEmitter<VirtualDisplayEvents>;
  readonly #exited: Promise<void>;
  #closing = false;
  #closed = false;

  private constructor(
    number: number,
    options: VirtualDisplayOptions,
    child: ChildProcess,
    events: TypedEmitter<VirtualDisplayEvents>,
  ) {
    this.number = number;
    this.width = options.width;
    this.height = options.height;
    this.#process = child;
    this.#events = events;
    this.#exited = waitForExit(child).then(({ code, signal }) => {
      if (!this.#closing) {
        options.logger?.warn({ display: number, code, signal }, 'virtual display exited');
        this.#events.emit('exit', code, signal);
      }
    });
  }

  /** Starts an X server and resolves once it accepts connections. Throws EDGE_GAME_START_FAILED. */
  static async start(options: VirtualDisplayOptions): Promise<VirtualDisplay> {
    const depth = options.depth ?? 24;
    const events = new TypedEmitter<VirtualDisplayEvents>({
      onListenerError: (error) => options.logger?.error({ err: error }, 'virtual display listener failed'),
    });
    const args = [
      '-displayfd',
      '3',
      '-nolisten',
      'tcp',
      '-noreset',
      '-screen',
      '0',
      `${options.width}x${options.height}x${depth}`,
    ];
    let child: ChildProcess;
    try {
      child = spawn(options.binary ?? 'Xvfb', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    } catch (cause) {
      throw new FarplayError('EDGE_GAME_START_FAILED', 'cannot start Xvfb', { cause });
    }
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    const number = await new Promise<number>((resolve, reject) => {
      let text = '';
      const fail = (why: string, cause?: unknown): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(
          new FarplayError('EDGE_GAME_START_FAILED', `virtual display: ${why}`, {
            details: { stderr: stderr.slice(-1000) },
            cause,
          }),
        );
      };
      const timer = setTimeout(
        () => fail('no display number within the start timeout'),
        options.startTimeoutMs ?? 10_000,
      );
      child.once('error', (error) => fail('cannot run Xvfb', error));
      child.once('exit', (code, signal) => fail(`Xvfb exited at start (code ${code}, signal ${signal})`));
      (child.stdio[3] as Readable).on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const line = text.split('\n')[0];
        if (text.includes('\n') && line !== undefined) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          const n = Number.parseInt(line, 10);
          if (Number.isInteger(n) && n >= 0) resolve(n);
          else fail(`bad display number '${line}'`);
        }
      });
    });
    options.logger?.debug({ display: number }, 'virtual display ready');
    return new VirtualDisplay(number, options, child, events);
  }

  /** The DISPLAY value, e.g. ':3'. */
  get display(): string {
    return `:${this.number}`;
  }

  /** Path of the server's Unix socket (what a sandbox binds in). */
  get socketPath(): string {
    return `/tmp/.X11-unix/X${this.number}`;
  }

  /** The X server's process id. */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof VirtualDisplayEvents>(
    event: K,
    listener: (...args: VirtualDisplayEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  /** Stops the server (TERM, then KILL after 2 s) and waits for it; idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return this.#exited;
    this.#closing = true;
    this.#events.removeAllListeners();
    if (this.#process.exitCode === null && this.#process.signalCode === null) {
      this.#process.kill('SIGTERM');
      const timer = setTimeout(() => this.#process.kill('SIGKILL'), 2000);
      await this.#exited;
      clearTimeout(timer);
    }
    this.#closed = true;
  }
}
