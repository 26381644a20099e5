/** A burst the pacer sends at a set rate to learn whether the path carries it. */
export interface ProbeCluster {
  id: number;
  /** Rate to send the cluster at, bps. */
  bps: number;
  /** Bytes to send (at least `minPackets` packets). */
  bytes: number;
  minPackets: number;
}
