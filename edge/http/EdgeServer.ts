import type { Logger } from 'pino';
import type { Edge } from '../Edge.js';
import { buildEdgeApp, type EdgeApp } from './buildEdgeApp.js';

/** Where an EdgeServer listens (default: the edge config's host and port; port 0 picks a free one). */
export interface EdgeServerListenOptions {
  host?: string;
  port?: number;
}

/**
 * An edge served over HTTP and WebSocket: owns the edge and its app. `close()` ends the sessions
 * (close 1001), then stops the servers; idempotent.
 */
export class EdgeServer {
  readonly edge: Edge;
  readonly app: EdgeApp;
  readonly #log: Logger;
  #closing: Promise<void> | undefined;

  private constructor(edge: Edge, app: EdgeApp, logger: Logger) {
    this.edge = edge;
    this.app = app;
    this.#log = logger;
  }

  /** Builds the app for `edge` (not listening yet). */
  static async create(edge: Edge, logger: Logger): Promise<EdgeServer> {
    const log = logger.child({ edgeId: edge.id });
    return new EdgeServer(edge, await buildEdgeApp(edge, log), log);
  }

  /** Base URL of the edge, once known. */
  get url(): string | undefined {
    return this.edge.url;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Starts listening; resolves to the edge URL. */
  async listen(options: EdgeServerListenOptions = {}): Promise<string> {
    const config = this.edge.config;
    const address = await this.app.listen({
      host: options.host ?? config.host,
      port: options.port ?? config.port,
    });
    const url = new URL(address);
    if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = '127.0.0.1';
    this.edge.setListenUrl(url.origin);
    this.#log.info(
      {
        url: this.edge.url,
        encoder: this.edge.encoderProbe.selected,
        standalone: this.edge.standalone,
        capacity: config.capacity,
      },
      'edge listening',
    );
    return this.edge.url ?? address;
  }

  /** Ends every session (close 1001), then stops the WebSocket and HTTP servers. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.edge.close();
      await this.app.close();
    })();
    return this.#closing;
  }
}
