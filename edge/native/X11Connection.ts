import { connect, type Socket } from 'node:net';
import { FarplayError } from '../../protocol/errors.js';

/** What the X server said about itself when the connection was set up. */
export interface X11ServerInfo {
  root: number;
  width: number;
  height: number;
  minKeycode: number;
  maxKeycode: number;
}

interface Pending {
  resolve: (reply: Buffer) => void;
  reject: (error: Error) => void;
}

/**
 * A minimal X11 protocol client over the display's Unix socket: connection set-up, requests with replies
 * matched by sequence number, and core/extension errors turned into rejections. Enough for XTEST input
 * injection (QueryExtension, GetKeyboardMapping, ChangeKeyboardMapping, FakeInput) without a native
 * dependency or a process per event. Little-endian, no authorisation (the server listens only on a
 * socket that only this session's sandbox and the edge can reach).
 */
export class X11Connection {
  readonly info: X11ServerInfo;
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  #sequence = 0;
  #buffer: Buffer = Buffer.alloc(0);
  #closed = false;
  /** X errors for requests that expect no reply (counted, not thrown). */
  errors = 0;

  private constructor(socket: Socket, info: X11ServerInfo, rest: Buffer) {
    this.#socket = socket;
    this.info = info;
    this.#buffer = rest;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.#fail(new Error('X connection closed')));
    socket.on('error', (error) => this.#fail(error));
  }

  /** Connects to display `number` (its socket under /tmp/.X11-unix unless `socketPath` is given). */
  static async open(number: number, socketPath = `/tmp/.X11-unix/X${number}`): Promise<X11Connection> {
    const socket = connect(socketPath);
    const setup = Buffer.alloc(12);
    setup.write('l', 0, 'latin1');
    setup.writeUInt16LE(11, 2);
    setup.writeUInt16LE(0, 4);
    const { info, rest } = await new Promise<{ info: X11ServerInfo; rest: Buffer }>((resolve, reject) => {
      let data = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        data = Buffer.concat([data, chunk]);
        if (data.length < 8) return;
        const total = 8 + data.readUInt16LE(6) * 4;
        if (data.length < total) return;
        socket.off('data', onData);
        socket.off('error', reject);
        if (data[0] !== 1) {
          const reason = data.subarray(8, 8 + (data[1] ?? 0)).toString('latin1');
          reject(new FarplayError('EDGE_GAME_START_FAILED', `X server refused the connection: ${reason}`));
          socket.destroy();
          return;
        }
        const vendorLength = data.readUInt16LE(24);
        const formats = data[29] ?? 0;
        const screen = 40 + pad4(vendorLength) + formats * 8;
        resolve({
          info: {
            minKeycode: data[34] ?? 8,
            maxKeycode: data[35] ?? 255,
            root: data.readUInt32LE(screen),
            width: data.readUInt16LE(screen + 20),
            height: data.readUInt16LE(screen + 22),
          },
          rest: data.subarray(total),
        });
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(setup);
    });
    return new X11Connection(socket, info, rest);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a request that has no reply. */
  send(request: Buffer): void {
    if (this.#closed) return;
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.#socket.write(request);
  }

  /** Sends a request and resolves with its whole reply. */
  request(request: Buffer): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('X connection closed'));
    this.#sequence = (this.#sequence + 1) & 0xffff;
    const sequence = this.#sequence;
    return new Promise((resolve, reject) => {
      this.#pending.set(sequence, { resolve, reject });
      this.#socket.write(request);
    });
  }

  /** Major opcode of extension `name`, or null if the server lacks it. */
  async queryExtension(name: string): Promise<number | null> {
    const n = Buffer.byteLength(name, 'latin1');
    const request = Buffer.alloc(8 + pad4(n));
    request[0] = 98;
    request.writeUInt16LE(request.length / 4, 2);
    request.writeUInt16LE(n, 4);
    request.write(name, 8, 'latin1');
    const reply = await this.request(request);
    return reply[8] === 1 ? (reply[9] ?? null) : null;
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    while (this.#buffer.length >= 32) {
      const kind = this.#buffer[0];
      const length = kind === 1 ? 32 + this.#buffer.readUInt32LE(4) * 4 : 32;
      if (this.#buffer.length < length) return;
      const message = this.#buffer.subarray(0, length);
      this.#buffer = this.#buffer.subarray(length);
      const sequence = message.readUInt16LE(2);
      const pending = this.#pending.get(sequence);
      if (kind === 1) {
        this.#pending.delete(sequence);
        pending?.resolve(Buffer.from(message));
      } else if (kind === 0) {
        if (pending) {
          this.#pending.delete(sequence);
          pending.reject(
            new Error(`X error ${message[1]} (request ${message[10]}.${message.readUInt16LE(8)})`),
          );
        } else {
          this.errors++;
        }
      }
      // Events (kind > 1) are not selected by this client; any that come are ignored.
    }
  }

  #fail(error: Error): void {
    this.#closed = true;
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }

  /** Closes the connection; idempotent. */
  close(): void {
    if (this.#closed && this.#socket.destroyed) return;
    this.#fail(new Error('X connection closed'));
    this.#socket.destroy();
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}
