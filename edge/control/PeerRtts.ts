import { type EdgePeerRtt, MAX_EDGE_PEERS } from '../../protocol/edgeRegistration.js';
import type { HeartbeatResponse } from '../../protocol/matchmakerApi.js';

/** A peer the matchmaker names in a heartbeat answer. */
export type EdgePeer = NonNullable<HeartbeatResponse['peers']>[number];

/**
 * This edge's RTT to another edge, ms: the minimum of `samples` timed `GET <url>/health` (the connection is
 * kept alive, so after the first the handshake is out of the figure); undefined when none answered within
 * `timeoutMs`.
 */
export async function measurePeerRtt(
  url: string,
  samples = 3,
  timeoutMs = 2000,
): Promise<number | undefined> {
  const target = new URL('/health', url);
  let best: number | undefined;
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    try {
      const response = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
      await response.arrayBuffer();
    } catch {
      continue;
    }
    const ms = performance.now() - start;
    if (best === undefined || ms < best) best = ms;
  }
  return best;
}

/**
 * The edge side of edge-to-edge anchors: measures the peers a heartbeat answer names (at most once per
 * `everyMs`, in the background) and hands the results to the next heartbeat, once.
 */
export class PeerRtts {
  readonly #everyMs: number;
  #pending: EdgePeerRtt[] = [];
  #measuring = false;
  #lastStart = Number.NEGATIVE_INFINITY;

  constructor(options: { everyMs?: number } = {}) {
    this.#everyMs = options.everyMs ?? 30_000;
  }

  /** The RTTs measured since the last call (for a heartbeat; `restore` them if it fails). */
  take(): EdgePeerRtt[] {
    const out = this.#pending;
    this.#pending = [];
    return out;
  }

  /** Puts back RTTs a failed heartbeat did not deliver (newer ones win). */
  restore(rtts: readonly EdgePeerRtt[]): void {
    for (const r of rtts)
      if (this.#pending.length < MAX_EDGE_PEERS && !this.#pending.some((p) => p.edge === r.edge))
        this.#pending.push(r);
  }

  /** Starts measuring `peers` unless a measurement runs or ran less than `everyMs` ago; resolves when done. */
  async measure(peers: readonly EdgePeer[] | undefined): Promise<void> {
    if (!peers?.length || this.#measuring || Date.now() - this.#lastStart < this.#everyMs) return;
    this.#measuring = true;
    this.#lastStart = Date.now();
    try {
      const chosen = peers.slice(0, MAX_EDGE_PEERS);
      const rtts = await Promise.all(chosen.map((p) => measurePeerRtt(p.url)));
      const fresh: EdgePeerRtt[] = [];
      for (const [i, p] of chosen.entries()) {
        const rttMs = rtts[i];
        if (rttMs !== undefined && /^0x[0-9a-fA-F]{40}$/.test(p.edgeId))
          fresh.push({ edge: p.edgeId, rttMs: Math.min(60_000, Math.round(rttMs * 1000) / 1000) });
      }
      this.#pending = fresh;
    } finally {
      this.#measuring = false;
    }
  }
}
