import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { stunBindingResponse } from './stunBinding.js';

/** The request an edge sends: `FARPLAY-PROBE <nonce>` padded to at least UDP_PROBE_MIN_BYTES. */
export const UDP_PROBE_PREFIX = 'FARPLAY-PROBE ';
/** Requests shorter than this are ignored, so an answer is never larger than the request (no amplification). */
export const UDP_PROBE_MIN_BYTES = 96;

/** Options of `UdpProbeServer.start`. */
export interface UdpProbeServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** UDP port (default 0: any free port). */
  port?: number;
}

/**
 * Also a STUN server (Binding requests only, RFC 8489): edges and pages may name `stun:<matchmaker host>:<port>`
 * as their ICE server, so a public edge learns its server-reflexive address without a third party's STUN.
 *
 * Answers an edge's UDP probe from a second socket (another source port), to the address and port the probe
 * came from: the answer arrives only if this edge machine takes unsolicited UDP from outside, as WebRTC
 * peers need (a port-restricted NAT or a firewall that only passes replies drops it). The answer
 * `FARPLAY-PROBE-OK <nonce> <address>:<port>` says where the probe was seen from.
 */
export class UdpProbeServer {
  readonly #listen: Socket;
  readonly #answer: Socket;
  #closed = false;

  private constructor(listen: Socket, answer: Socket) {
    this.#listen = listen;
    this.#answer = answer;
    listen.on('message', (message, from) => this.#onMessage(message, from));
    // A bad datagram or an unreachable peer must not crash the matchmaker.
    listen.on('error', () => {});
    answer.on('error', () => {});
  }

  /** Binds both sockets. */
  static async start(options: UdpProbeServerOptions = {}): Promise<UdpProbeServer> {
    const host = options.host ?? '127.0.0.1';
    const type = host.includes(':') ? 'udp6' : 'udp4';
    const listen = createSocket(type);
    const answer = createSocket(type);
    try {
      listen.bind(options.port ?? 0, host);
      await once(listen, 'listening');
      answer.bind(0, host === '0.0.0.0' || host === '::' ? undefined : host);
      await once(answer, 'listening');
    } catch (error) {
      listen.close();
      answer.close();
      throw error;
    }
    return new UdpProbeServer(listen, answer);
  }

  /** The UDP port probes go to. */
  get port(): number {
    return this.#listen.address().port;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #onMessage(message: Buffer, from: RemoteInfo): void {
    if (this.#closed) return;
    // STUN Binding requests are answered from the socket they came to (what ICE needs for a srflx candidate).
    const stun = stunBindingResponse(message, from.address, from.port);
    if (stun) {
      this.#listen.send(stun, from.port, from.address, () => {});
      return;
    }
    if (message.length < UDP_PROBE_MIN_BYTES || message.length > 512) return;
    const text = message.toString('latin1');
    if (!text.startsWith(UDP_PROBE_PREFIX)) return;
    const nonce = text.slice(UDP_PROBE_PREFIX.length).split(' ')[0] ?? '';
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(nonce)) return;
    const reply = Buffer.from(`FARPLAY-PROBE-OK ${nonce} ${from.address}:${from.port}`, 'latin1');
    if (reply.length > message.length) return;
    this.#answer.send(reply, from.port, from.address, () => {});
  }

  /** Closes both sockets; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listen.close();
    this.#answer.close();
  }
}
