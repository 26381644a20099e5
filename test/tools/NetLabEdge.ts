import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { StreamSessionStats } from '../../edge/session/StreamSession.js';
import type { NetLabHost } from './netlab/createNetLabHost.js';

/** What `NetLabEdge.stats()` answers. */
export interface NetLabEdgeStats {
  t: number;
  sessions: StreamSessionStats[];
}

export interface NetLabEdgeOptions {
  /** The built player (served at `/`). */
  staticDir: string;
  /** Transport-wide congestion control on the edge (default true). */
  congestionControl?: boolean;
  /** Longest wait for the edge to listen, ms (default 120 000: loaded machines). */
  startTimeoutMs?: number;
}

/**
 * A standalone edge (netlabEdgeMain.ts) running inside a netlab host's namespace, so its traffic to a
 * player in the root namespace crosses the lab's emulated link (delay, jitter, loss, rate). `stats()`
 * asks it for its sessions' stats over stdin/stdout; `close()` ends it.
 */
export class NetLabEdge {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #waiting: Array<(line: string) => void>;
  #closed = false;

  private constructor(url: string, child: ChildProcess, waiting: Array<(line: string) => void>) {
    this.url = url;
    this.#child = child;
    this.#waiting = waiting;
  }

  static async start(host: NetLabHost, options: NetLabEdgeOptions): Promise<NetLabEdge> {
    const child = host.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/tools/netlabEdgeMain.ts',
        '--host',
        host.ip,
        '--static',
        options.staticDir,
        '--congestion',
        options.congestionControl === false ? 'off' : 'on',
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const waiting: Array<(line: string) => void> = [];
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => waiting.shift()?.(line));
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the netlab edge did not start')),
        options.startTimeoutMs ?? 120_000,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the netlab edge exited with ${code}`));
      });
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
    const { url } = JSON.parse(first) as { url: string };
    return new NetLabEdge(url, child, waiting);
  }

  /** The edge's sessions, as `edge.stats().sessions`. */
  async stats(): Promise<NetLabEdgeStats> {
    if (this.#closed) throw new Error('netlab edge closed');
    const reply = new Promise<string>((resolve) => this.#waiting.push(resolve));
    this.#child.stdin?.write('stats\n');
    return JSON.parse(await reply) as NetLabEdgeStats;
  }

  /** Ends the edge (its sessions close); idempotent. The lab kills what is left on its own close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const child = this.#child;
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.write('close\n');
    child.stdin?.end();
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
}
