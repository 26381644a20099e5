import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The matchmaker's Prometheus metrics, on their own registry (several apps can live in one process). */
export function createMetrics() {
  const registry = new Registry();
  return {
    registry,
    allocations: new Counter({
      name: 'farplay_mm_allocations_total',
      help: 'Session allocations by result (ok, or the error code such as MM_NO_CAPACITY).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    allocateSeconds: new Histogram({
      name: 'farplay_mm_allocate_seconds',
      help: 'Time to rank edges, reserve a slot and sign the token.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    edgeMessages: new Counter({
      name: 'farplay_mm_edge_messages_total',
      help: 'Edge registrations, heartbeats and session reports by kind and result.',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    edgePeerRtts: new Counter({
      name: 'farplay_mm_edge_peer_rtts_total',
      help: 'Edge-to-edge RTTs from heartbeats, by result (used, or implausible and dropped).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    failovers: new Counter({
      name: 'farplay_mm_failovers_total',
      help: 'Sessions on a lost edge, by result (moved, ended).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    edgesAlive: new Gauge({
      name: 'farplay_mm_edges_alive',
      help: 'Live edges in this instance’s registry view.',
      registers: [registry],
    }),
    freeSlots: new Gauge({
      name: 'farplay_mm_free_slots',
      help: 'Free slots over all live edges, by region.',
      labelNames: ['region'] as const,
      registers: [registry],
    }),
  };
}
/** The matchmaker's Prometheus metrics and their registry (served at /metrics). */
export type MatchmakerMetrics = ReturnType<typeof createMetrics>;
