import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { StreamSessionStats } from '../../edge/session/StreamSession.js';
import type { NetLabHost } from './netlab/createNetLabHost.js';

/** Marks the edge process's protocol lines on its stdout (netlabEdgeMain.ts); other lines go to stderr. */
export const NETLAB_EDGE_LINE = 'netlab-edge ';

/** What `NetLabEdge.stats()` answers. */
export interface NetLabEdgeStats {
  t: number;
  sessions: StreamSessionStats[];
}

export interface NetLabEdgeOptions {
  /** The built player (served at `/`; standalone edges only). */
  staticDir?: string;
  /**
   * The real edge program (edge/runEdge.ts) instead of a standalone edge, configured by these FARPLAY_EDGE_*
   * variables (matchmaker URL and pinned key, node key, price, chains, deployments dir, period): it registers with
   * the matchmaker, reports each period to the session's checkers and settles. `host` and `port` are set here.
   */
  billedEnv?: Record<string, string>;
  /** Transport-wide congestion control on the edge (default true). */
  congestionControl?: boolean;
  /** Forward error correction (ULPFEC in RED) with congestion control (default true, as the edge's). */
  fec?: boolean;
  /** Longest wait for the edge to listen, ms (default 120 000: loaded machines). */
  startTimeoutMs?: number;
}

/**
 * An edge (netlabEdgeMain.ts) running inside a netlab host's namespace, so its traffic to a player in the
 * root namespace crosses the lab's emulated link (delay, jitter, loss, rate): a standalone one, or with
 * `billedEnv` the real edge program registered with a matchmaker and billing (what it reaches — matchmaker,
 * checkers, chains — must listen on the lab's `root` address). `stats()` asks it for its sessions' stats and
 * `periods()` for a session's billing periods over stdin/stdout; `close()` ends it.
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
    const billed = options.billedEnv;
    const child = host.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/tools/netlabEdgeMain.ts',
        ...(billed
          ? ['--billed']
          : [
              '--host',
              host.ip,
              ...(options.staticDir ? ['--static', options.staticDir] : []),
              '--congestion',
              options.congestionControl === false ? 'off' : 'on',
              '--fec',
              options.fec === false ? 'off' : 'on',
            ]),
      ],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
        ...(billed
          ? {
              env: {
                ...process.env,
                ...billed,
                FARPLAY_EDGE_HOST: host.ip,
                FARPLAY_EDGE_PORT: '0',
                // The lab's namespaces use private addresses; the edge's only address is its lab one.
                FARPLAY_EDGE_ALLOW_PRIVATE_CANDIDATES: 'true',
                FARPLAY_EDGE_ICE_ADDITIONAL_HOST_ADDRESSES: '[]',
              },
            }
          : {}),
      },
    );
    const waiting: Array<(line: string) => void> = [];
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.startsWith(NETLAB_EDGE_LINE)) waiting.shift()?.(line.slice(NETLAB_EDGE_LINE.length));
      else process.stderr.write(`${line}\n`);
    });
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

  /** Billing periods the edge's reporter has closed for a session (its period clock; 0 when it does not bill it). */
  async periods(sessionId: string): Promise<number> {
    if (this.#closed) throw new Error('netlab edge closed');
    if (/\s/.test(sessionId)) throw new Error(`bad session id ${JSON.stringify(sessionId)}`);
    const reply = new Promise<string>((resolve) => this.#waiting.push(resolve));
    this.#child.stdin?.write(`periods ${sessionId}\n`);
    return (JSON.parse(await reply) as { periods: number }).periods;
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
