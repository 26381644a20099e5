/** What the delay-gradient detector concludes about the path's queue. */
export const BandwidthUsage = {
  /** Queueing delay steady. */
  normal: 'normal',
  /** Queueing delay shrinking (a queue draining). */
  underusing: 'underusing',
  /** Queueing delay growing: we send more than the path carries. */
  overusing: 'overusing',
} as const;
export type BandwidthUsage = (typeof BandwidthUsage)[keyof typeof BandwidthUsage];
