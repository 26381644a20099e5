/** One sent packet joined with what the receiver reported about it. */
export interface PacketResult {
  /** Unwrapped transport-wide sequence number. */
  seq: number;
  /** Local send time, ms. */
  sendTimeMs: number;
  /** Bytes on the wire (RTP header and payload). */
  size: number;
  /** Probe cluster the packet belonged to, -1 for none. */
  probeClusterId: number;
  /** A padding copy of a packet sent before (a receiver may drop it: see SendSideEstimator). */
  padding: boolean;
  /** Arrival time on the receiver's clock, ms (only differences mean anything); undefined = lost. */
  arrivalTimeMs: number | undefined;
}
