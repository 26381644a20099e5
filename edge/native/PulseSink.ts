import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { FarplayError } from '../../protocol/errors.js';
import { waitForExit } from './waitForExit.js';

/** Options of `PulseSink.start`. */
export interface PulseSinkOptions {
  /** Folder for this session's PulseAudio state and socket (made, and removed at close). */
  dir: string;
  /** Sample rate of the PCM read out (default 48 kHz, the Opus encoder's). */
  sampleRate?: number;
  /** Most PCM held before the oldest is dropped, ms (default 100: sound never lags further). */
  maxBufferMs?: number;
  /** How long the daemon may take to start, ms (default 10 s). */
  startTimeoutMs?: number;
  logger?: Logger;
}

const SINK = 'farplay';

/**
 * The session's sound: a PulseAudio daemon of its own (no shared state, anonymous access only over its
 * own Unix socket, which only this session's sandbox sees) with a null sink as the default output, and
 * `parec` reading the sink's monitor as raw mono s16le PCM. node-av's FFmpeg has no pulse input, hence
 * parec. `mixAudio` hands the PCM to the Opus encoder in 20 ms blocks; silence fills any gap, and PCM
 * older than `maxBufferMs` is dropped so sound never drifts behind the picture. Readiness is the daemon's
 * own "startup complete" line, not a sleep.
 */
export class PulseSink {
  /** The daemon's socket (what the sandbox binds in as its PULSE_SERVER). */
  readonly socketPath: string;
  readonly #dir: string;
  readonly #daemon: ChildProcess;
  readonly #maxSamples: number;
  readonly #logger: Logger | undefined;
  #recorder: ChildProcess | undefined;
  #chunks: Buffer[] = [];
  #offset = 0;
  #buffered = 0;
  #received = 0;
  #closing: Promise<void> | undefined;
  #closed = false;

  private constructor(options: PulseSinkOptions, daemon: ChildProcess) {
    this.#dir = options.dir;
    this.socketPath = join(options.dir, 'native');
    this.#daemon = daemon;
    this.#logger = options.logger;
    this.#maxSamples = Math.round(((options.sampleRate ?? 48_000) * (options.maxBufferMs ?? 100)) / 1000);
  }

  /** Starts the daemon and the recorder; resolves once both run. Throws EDGE_GAME_START_FAILED. */
  static async start(options: PulseSinkOptions): Promise<PulseSink> {
    const rate = options.sampleRate ?? 48_000;
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const socket = join(options.dir, 'native');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: options.dir,
      XDG_RUNTIME_DIR: options.dir,
      PULSE_RUNTIME_PATH: options.dir,
      PULSE_STATE_PATH: options.dir,
      XDG_CONFIG_HOME: options.dir,
    };
    const daemon = spawn(
      'pulseaudio',
      [
        '-n',
        '--daemonize=no',
        '--exit-idle-time=-1',
        '--disable-shm=true',
        '--use-pid-file=no',
        '--system=false',
        '--log-target=stderr',
        '--log-level=info',
        '-L',
        `module-native-protocol-unix socket=${socket} auth-anonymous=1`,
        '-L',
        `module-null-sink sink_name=${SINK} rate=${rate} channels=1`,
      ],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const sink = new PulseSink(options, daemon);
    try {
      await new Promise<void>((resolve, reject) => {
        let log = '';
        const timer = setTimeout(
          () => reject(new Error(`no 'startup complete' from pulseaudio: ${log.slice(-500)}`)),
          options.startTimeoutMs ?? 10_000,
        );
        daemon.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        daemon.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`pulseaudio exited at start (code ${code}): ${log.slice(-500)}`));
        });
        daemon.stderr?.on('data', (chunk: Buffer) => {
          log = (log + chunk.toString()).slice(-4000);
          if (log.includes('Daemon startup complete')) {
            clearTimeout(timer);
            daemon.removeAllListeners('exit');
            resolve();
          }
        });
      });
      daemon.stderr?.removeAllListeners('data');
      daemon.stderr?.resume();
      sink.#record(rate, env);
    } catch (cause) {
      await sink.close();
      throw new FarplayError('EDGE_GAME_START_FAILED', 'cannot start the session audio (PulseAudio)', {
        cause,
      });
    }
    return sink;
  }

  /** PCM bytes read from the sink so far. */
  get receivedBytes(): number {
    return this.#received;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #record(rate: number, env: Record<string, string>): void {
    const recorder = spawn(
      'parec',
      [
        '--server',
        `unix:${this.socketPath}`,
        '--device',
        `${SINK}.monitor`,
        '--raw',
        '--format=s16le',
        `--rate=${rate}`,
        '--channels=1',
        '--latency-msec=10',
      ],
      { env, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    this.#recorder = recorder;
    recorder.stdout?.on('data', (chunk: Buffer) => this.#push(chunk));
    recorder.once('exit', (code) => {
      if (!this.#closing) this.#logger?.warn({ code }, 'audio recorder exited; the session continues silent');
    });
  }

  #push(chunk: Buffer): void {
    this.#received += chunk.length;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    // Drop the oldest PCM beyond the bound (whole samples only).
    let excess = this.#buffered - this.#maxSamples * 2;
    while (excess > 0 && this.#chunks.length > 0) {
      const first = this.#chunks[0] as Buffer;
      const left = first.length - this.#offset;
      if (left <= excess) {
        this.#chunks.shift();
        this.#offset = 0;
        this.#buffered -= left;
        excess -= left;
      } else {
        const drop = excess & ~1;
        this.#offset += drop;
        this.#buffered -= drop;
        excess = 0;
      }
    }
  }

  /** Fills `out` with the next samples of mono PCM; silence where none has arrived. */
  mixAudio(out: Int16Array): void {
    let i = 0;
    while (i < out.length && this.#chunks.length > 0) {
      const first = this.#chunks[0] as Buffer;
      while (i < out.length && this.#offset + 1 < first.length) {
        out[i++] = first.readInt16LE(this.#offset);
        this.#offset += 2;
        this.#buffered -= 2;
      }
      if (this.#offset + 1 >= first.length) {
        // An odd trailing byte (a sample split across chunks) is carried into the next chunk.
        const rest = first.subarray(this.#offset);
        this.#chunks.shift();
        this.#buffered -= rest.length;
        this.#offset = 0;
        if (rest.length > 0 && this.#chunks.length > 0) {
          const next = this.#chunks[0] as Buffer;
          this.#chunks[0] = Buffer.concat([rest, next]);
          this.#buffered += rest.length;
        }
      }
    }
    out.fill(0, i);
  }

  /** Stops the recorder and the daemon and removes the session's audio folder; idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const child of [this.#recorder, this.#daemon]) {
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await waitForExit(child);
      clearTimeout(timer);
    }
    this.#chunks = [];
    await rm(this.#dir, { recursive: true, force: true }).catch(() => undefined);
    this.#closed = true;
  }
}
