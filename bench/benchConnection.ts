import { connect, type Socket } from 'node:net';

/**
 * The load generator's HTTP/1.1 client: one keep-alive connection per client loop, one request at a
 * time (no pipelining), requests written as one buffer and responses parsed by status line and
 * content-length only. node:http's client costs about as much CPU per request as the matchmaker does,
 * and on a 2-core machine every µs the load generator burns is taken from the server's share — the
 * fair set-up measures the server, not the client library (same reason wrk/autocannon exist).
 */
export class Connection {
  readonly #socket: Socket;
  readonly #head: string;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (r: { status: number; body: Buffer }) => void; reject: (e: Error) => void } | null =
    null;
  #error: Error | null = null;

  constructor(port: number) {
    this.#head = `Host: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n`;
    this.#socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const fail = (error: Error) => {
      this.#error = error;
      this.#waiting?.reject(error);
      this.#waiting = null;
    };
    this.#socket.on('error', fail);
    this.#socket.on('close', () => fail(new Error('connection closed')));
  }

  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: Buffer }> {
    if (this.#error) return Promise.reject(this.#error);
    const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const head = `${method} ${path} HTTP/1.1\r\n${this.#head}${
      payload ? `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n` : ''
    }\r\n`;
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(head + payload);
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buffer.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      this.#socket.destroy(new Error(`response without content-length: ${head.slice(0, 200)}`));
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.#buffer.length < total) return;
    const body = this.#buffer.subarray(end + 4, total);
    this.#buffer = this.#buffer.subarray(total);
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.resolve({ status: Number(head.slice(9, 12)), body });
  }

  close(): void {
    this.#socket.destroy();
  }
}
