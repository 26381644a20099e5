import type { FastifyRateLimitStoreCtor, RateLimitPluginOptions } from '@fastify/rate-limit';
import { coalescedRedisRateStore } from './coalescedRedisRateStore.js';

/** The limits a service sets for its global per-address bucket. */
export interface RateLimitSettings {
  /** Requests allowed per window from one client address. */
  max: number;
  /** The window, in milliseconds. */
  windowMs: number;
  /**
   * Counters in Redis (ioredis client and key prefix), so every instance of a service shares one bucket per
   * address; default: in process memory. While Redis is away requests are not refused for the limit.
   */
  shared?: { redis: unknown; keyPrefix: string } | undefined;
}

/**
 * Options for `@fastify/rate-limit` shared by every Farplay service: one global bucket per client
 * address, answering a catalogue `RATE_LIMITED` body that says when to retry.
 */
export function rateLimitOptions({ max, windowMs, shared }: RateLimitSettings): RateLimitPluginOptions {
  return {
    global: true,
    // In Redis, the requests of one address in one event-loop turn counted in one round trip (same counts).
    ...(shared
      ? {
          store: coalescedRedisRateStore(
            shared.redis,
            shared.keyPrefix,
          ) as unknown as FastifyRateLimitStoreCtor,
          skipOnError: true,
        }
      : {}),
    max,
    timeWindow: windowMs,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: `rate limit of ${context.max} requests per ${context.after} exceeded; retry after ${context.after}`,
    }),
  };
}
