import { hexToBytes } from 'viem';
import { signDigest } from '../checker/signDigest.js';
import { type EdgeHeartbeatPayload, edgeMessageDigest, randomNonce } from '../protocol/edgeRegistration.js';
import { Connection } from './benchConnection.js';
import { percentile, round2 } from './largeNetwork.js';

/**
 * Keeps every edge heartbeating once per `heartbeatMs` (spread evenly over the period) until `stop()`, over
 * 8 connections. Heartbeats are signed a round ahead (libsecp256k1 over the EIP-712 digest, ~0.1–0.2 ms
 * each, counted in the client's CPU figure) and stamped with the time they are due.
 */
export function startHeartbeats(
  heartbeatMs: number,
  port: number,
  keys: { edge: string; privateKey: Uint8Array }[],
  deployment: string,
  durationMs: number,
): { stop(): Promise<{ sent: number; failed: number; lateMsP99: number }> } {
  if (heartbeatMs <= 0 || keys.length === 0) {
    return { stop: async () => ({ sent: 0, failed: 0, lateMsP99: 0 }) };
  }
  const rounds = Math.ceil(durationMs / heartbeatMs) + 1;
  const bodies: string[] = [];
  const gap = heartbeatMs / keys.length;
  let stopped = false;
  const sign = (r: number, k: number, issuedAt: number) => {
    const { edge, privateKey } = keys[k] as { edge: string; privateKey: Uint8Array };
    const payload: EdgeHeartbeatPayload = {
      edge,
      activeSessions: 0,
      freeSlots: 200,
      encodeHeadroom: 4,
      activeSessionIds: [],
      activeSessionOwners: [],
      issuedAt,
      nonce: randomNonce(),
      deployment,
    };
    const signature = signDigest(privateKey, hexToBytes(edgeMessageDigest('EdgeHeartbeat', payload)));
    bodies[r * keys.length + k] = JSON.stringify({ payload, signature });
  };
  // Round 0 is signed before the start, each later round while the one before it is sent (stamped with
  // the time it is due, so every heartbeat is fresh for the server's ±60 s window however busy the machine).
  const start = performance.now() + 500;
  const wallStart = Date.now() + 500;
  for (let k = 0; k < keys.length; k++) sign(0, k, Math.round(wallStart + k * gap));
  const signer = (async () => {
    for (let r = 1; r < rounds && !stopped; r++) {
      for (let k = 0; k < keys.length && !stopped; k++) {
        sign(r, k, Math.round(wallStart + (r * keys.length + k) * gap));
        if (k % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
      }
    }
  })();
  let next = 0;
  let sent = 0;
  let failed = 0;
  const late: number[] = [];
  const loops = Array.from({ length: 8 }, async () => {
    const connection = new Connection(port);
    try {
      while (!stopped && next < rounds * keys.length) {
        const i = next++;
        while (bodies[i] === undefined && !stopped) await new Promise((r) => setTimeout(r, 5));
        const due = start + i * gap;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        else late.push(-wait);
        if (stopped) break;
        const res = await connection.request('POST', '/v1/edges/heartbeat', bodies[i]);
        sent++;
        if (res.status !== 200 && failed++ === 0) console.error(`heartbeat ${res.status}: ${res.body}`);
      }
    } finally {
      connection.close();
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all([...loops, signer]);
      return { sent, failed, lateMsP99: round2(late.length > 0 ? percentile(late, 0.99) : 0) };
    },
  };
}
