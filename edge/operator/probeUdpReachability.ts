import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';

/** What `probeUdpReachability` found. */
export interface UdpReachability {
  ok: boolean;
  /** Where the matchmaker saw the probe come from (`address:port`), when it answered. */
  seenFrom?: string;
  /** Why not, when `ok` is false. */
  reason?: string;
  /** Round trip of the answered probe, ms. */
  ms?: number;
}

/** Options of `probeUdpReachability`. */
export interface ProbeUdpReachabilityOptions {
  /** Matchmaker base URL; its GET /v1/operator/udp-probe names the probe port. */
  matchmakerUrl: string;
  /** Total time to wait for an answer, ms (default 3000); the probe is sent three times in that window. */
  timeoutMs?: number;
}

/**
 * Asks the matchmaker's UDP probe to answer this machine from another port: the answer arrives only
 * if unsolicited UDP from outside reaches this machine, as WebRTC peers need.
 */
export async function probeUdpReachability(options: ProbeUdpReachabilityOptions): Promise<UdpReachability> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const base = options.matchmakerUrl.replace(/\/$/, '');
  let port: number;
  try {
    const response = await fetch(`${base}/v1/operator/udp-probe`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok)
      return { ok: false, reason: `the matchmaker has no UDP probe (HTTP ${response.status})` };
    port = ((await response.json()) as { port: number }).port;
  } catch (error) {
    return {
      ok: false,
      reason: `the matchmaker did not say its UDP probe port (${(error as Error).message})`,
    };
  }
  const host = new URL(base).hostname.replace(/^\[|\]$/g, '');
  const { address, family } = await lookup(host);
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  const nonce = randomBytes(12).toString('base64url');
  const request = Buffer.alloc(96, 0x20);
  request.write(`FARPLAY-PROBE ${nonce} `, 'latin1');
  const started = performance.now();
  try {
    return await new Promise<UdpReachability>((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const finish = (result: UdpReachability) => {
        for (const timer of timers) clearTimeout(timer);
        resolve(result);
      };
      socket.on('error', (error) => finish({ ok: false, reason: error.message }));
      socket.on('message', (message, from) => {
        const [word, echoed, seenFrom] = message.toString('latin1').split(' ');
        if (word !== 'FARPLAY-PROBE-OK' || echoed !== nonce) return;
        // An answer from the port we sent to would only prove that replies come back, not that outside
        // peers can reach us.
        if (from.port === port) return;
        finish({ ok: true, ms: Math.round(performance.now() - started), ...(seenFrom ? { seenFrom } : {}) });
      });
      socket.bind(0, () => {
        for (let i = 0; i < 3; i++) {
          timers.push(setTimeout(() => socket.send(request, port, address, () => {}), (i * timeoutMs) / 3));
        }
        timers.push(
          setTimeout(
            () =>
              finish({
                ok: false,
                reason: `no answer from the matchmaker's UDP probe at ${address}:${port} within ${timeoutMs} ms`,
              }),
            timeoutMs,
          ),
        );
      });
    });
  } finally {
    socket.close();
  }
}
