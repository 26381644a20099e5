import { hexToBytes } from 'viem';
import { signDigest } from '../checker/signDigest.js';
import {
  type EdgeHeartbeatPayload,
  type EdgePeerRtt,
  edgeMessageDigest,
  randomNonce,
} from '../protocol/edgeRegistration.js';
import type { HeartbeatResponse } from '../protocol/matchmakerApi.js';
import { Connection } from './benchConnection.js';
import { percentile, round2 } from './largeNetwork.js';

/** One bench edge: its address (the edge id) and node key. */
export interface HeartbeatKey {
  edge: string;
  privateKey: Uint8Array;
}

export interface HeartbeatOptions {
  heartbeatMs: number;
  /** Matchmaker ports: edge k heartbeats to `ports[k % ports.length]` (behind a load balancer, any instance). */
  ports: number[];
  keys: HeartbeatKey[];
  deployment: string;
  /** The RTT (ms) from edge k to a peer edge the matchmaker named (what the edge would measure), if known. */
  peerRtt?: (k: number, peerId: string) => number | undefined;
}

/** What `stop()` reports: heartbeats sent (and refused), how late their timers fired, connections used. */
export interface HeartbeatFigures {
  periodMs: number;
  sent: number;
  failed: number;
  lateMsP99: number;
  connections: number;
}

/**
 * Keeps every edge heartbeating as edge/control does (edge/control/startEdgeControl.ts) until `stop()`: each
 * edge on its own keep-alive connection, its next heartbeat `heartbeatMs` after the last one answered (the first
 * ones spread evenly over one period), signed when it is sent (EIP-712 digest + libsecp256k1, counted in the
 * client's CPU figure) and carrying the RTTs to the peers the previous answer named (`peerRtt`), so the
 * matchmaker verifies, stores, reconciles and learns from every one as from a live edge. A slow answer delays only
 * that edge, as it would a real one; `sent()` counts the heartbeats answered so far.
 */
export function startHeartbeats(options: HeartbeatOptions): {
  sent(): number;
  stop(): Promise<HeartbeatFigures>;
} {
  const { heartbeatMs, ports, keys, deployment } = options;
  let sent = 0;
  let failed = 0;
  const late: number[] = [];
  if (heartbeatMs <= 0 || keys.length === 0) {
    return {
      sent: () => 0,
      stop: async () => ({ periodMs: heartbeatMs, sent: 0, failed: 0, lateMsP99: 0, connections: 0 }),
    };
  }
  let stopped = false;
  const connections: (Connection | undefined)[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  const measured: (EdgePeerRtt[] | undefined)[] = [];

  const beat = async (k: number) => {
    const { edge, privateKey } = keys[k] as HeartbeatKey;
    const peerRtts = measured[k] ?? [];
    measured[k] = undefined;
    const payload: EdgeHeartbeatPayload = {
      edge,
      activeSessions: 0,
      freeSlots: 200,
      encodeHeadroom: 4,
      activeSessionIds: [],
      activeSessionOwners: [],
      ...(peerRtts.length > 0 ? { peerRtts } : {}),
      issuedAt: Date.now(),
      nonce: randomNonce(),
      deployment,
    };
    const signature = signDigest(privateKey, hexToBytes(edgeMessageDigest('EdgeHeartbeat', payload)));
    let connection = connections[k];
    if (!connection) {
      connection = new Connection(ports[k % ports.length] as number);
      connections[k] = connection;
    }
    try {
      const res = await connection.request(
        'POST',
        '/v1/edges/heartbeat',
        JSON.stringify({ payload, signature }),
      );
      sent++;
      if (res.status !== 200) {
        if (failed++ === 0) console.error(`heartbeat ${res.status}: ${res.body}`);
        return;
      }
      const answer = JSON.parse(res.body.toString('utf8')) as HeartbeatResponse;
      const rtts: EdgePeerRtt[] = [];
      for (const peer of answer.peers ?? []) {
        const rttMs = options.peerRtt?.(k, peer.edgeId);
        if (rttMs !== undefined) rtts.push({ edge: peer.edgeId, rttMs: Math.round(rttMs * 1000) / 1000 });
      }
      measured[k] = rtts;
    } catch (error) {
      if (stopped) return;
      if (failed++ === 0) console.error(`heartbeat failed: ${String(error)}`);
      connections[k]?.close();
      connections[k] = undefined;
    }
  };

  const schedule = (k: number, delay: number) => {
    if (stopped) return;
    const due = performance.now() + delay;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (stopped) return;
      late.push(performance.now() - due);
      const run = beat(k).finally(() => {
        inFlight.delete(run);
        schedule(k, heartbeatMs);
      });
      inFlight.add(run);
    }, delay);
    timers.add(timer);
  };
  const gap = heartbeatMs / keys.length;
  for (let k = 0; k < keys.length; k++) schedule(k, k * gap);

  return {
    sent: () => sent,
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(inFlight);
      const used = connections.filter((c) => c !== undefined).length;
      for (const c of connections) c?.close();
      return {
        periodMs: heartbeatMs,
        sent,
        failed,
        lateMsP99: round2(late.length > 0 ? percentile(late, 0.99) : 0),
        connections: used,
      };
    },
  };
}
