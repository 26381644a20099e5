import { FarplayError } from '../../protocol/errors.js';
import type { MatchmakerStore } from './MatchmakerStore.js';

/** What ioredis throws when it cannot talk to Redis (as opposed to an error Redis answered with). */
const UNREACHABLE =
  /enableOfflineQueue|Command timed out|Connection is closed|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Stream isn't writeable|LOADING/;

/**
 * Wraps a store so that every operation failing because the store cannot be reached rejects with
 * MM_STORE_UNAVAILABLE (503, retry shortly) instead of hanging or surfacing as INTERNAL. Other errors pass.
 */
export function guardStore(store: MatchmakerStore): MatchmakerStore {
  const unavailable = (error: unknown): never => {
    const e = error as { name?: unknown; message?: unknown } | null;
    const text = `${String(e?.name ?? '')} ${String(e?.message ?? '')}`;
    if (!(error instanceof FarplayError) && UNREACHABLE.test(text))
      throw new FarplayError('MM_STORE_UNAVAILABLE', undefined, { cause: error });
    throw error;
  };
  // One wrapper per method, made once (allocation calls these on its hot path).
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || property === 'subscribe' || property === 'close') return value;
      let fn = wrapped.get(property);
      if (!fn) {
        fn = (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          return result instanceof Promise ? result.catch(unavailable) : result;
        };
        wrapped.set(property, fn);
      }
      return fn;
    },
  });
}
