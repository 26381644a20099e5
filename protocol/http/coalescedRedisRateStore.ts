// One INCRBY per key per event-loop turn for @fastify/rate-limit's Redis counters.

// Same as @fastify/rate-limit's RedisStore script, for `count` requests at once (ARGV[5]).
const LUA = `
local key = KEYS[1]
local timeWindow = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local continueExceeding = ARGV[3] == 'true'
local exponentialBackoff = ARGV[4] == 'true'
local count = tonumber(ARGV[5])
local current = redis.call('INCRBY', key, count)
if current == count or (continueExceeding and current > max) then
  redis.call('PEXPIRE', key, timeWindow)
elseif exponentialBackoff and current > max then
  timeWindow = math.min(timeWindow * (2 ^ (current - max - 1)), (2^53) - 1)
  redis.call('PEXPIRE', key, timeWindow)
else
  timeWindow = redis.call('PTTL', key)
end
return {current, timeWindow}`;

type Reply = { current: number; ttl: number };
type Callback = (error: Error | null, reply: Reply | null) => void;
interface Client {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  [command: string]: unknown;
}
interface StoreParams {
  continueExceeding?: boolean;
  exponentialBackoff?: boolean;
}
interface RouteParams extends StoreParams {
  routeInfo: { method: string; url: string };
}
interface Batch {
  callbacks: Callback[];
  timeWindow: number;
  max: number;
}

const COMMAND = 'farplayRateLimitBy';

/**
 * A `store` for `@fastify/rate-limit` with the same counters, keys and answers as its `RedisStore`, but the
 * requests from one address counted in one turn of the event loop are one `INCRBY` (and one round trip): the
 * n-th of them is answered as if it had been counted alone, in arrival order. Every instance still counts in the
 * one shared key, so the limit per address is the same across instances. With exponential backoff each request
 * is counted alone (its window depends on each count).
 */
export function coalescedRedisRateStore(redis: unknown, keyPrefix: string) {
  const client = redis as Client;
  if (typeof client[COMMAND] !== 'function') client.defineCommand(COMMAND, { numberOfKeys: 1, lua: LUA });
  const run = (key: string, batch: Batch, continueExceeding: boolean, exponentialBackoff: boolean): void => {
    const n = batch.callbacks.length;
    (client[COMMAND] as (...args: unknown[]) => void)(
      key,
      batch.timeWindow,
      batch.max,
      continueExceeding,
      exponentialBackoff,
      n,
      (error: Error | null, result: [number, number] | undefined) => {
        batch.callbacks.forEach((callback, i) => {
          if (error || !result) callback(error ?? new Error('no rate-limit reply'), null);
          else callback(null, { current: result[0] - n + i + 1, ttl: result[1] });
        });
      },
    );
  };

  class CoalescedRedisStore {
    readonly #key: string;
    readonly #continueExceeding: boolean;
    readonly #exponentialBackoff: boolean;
    #pending = new Map<string, Batch>();

    constructor(params: StoreParams, key = keyPrefix) {
      this.#key = key;
      this.#continueExceeding = params.continueExceeding === true;
      this.#exponentialBackoff = params.exponentialBackoff === true;
    }

    incr(id: string, callback: Callback, timeWindow: number, max: number): void {
      const key = this.#key + id;
      if (this.#exponentialBackoff) {
        run(key, { callbacks: [callback], timeWindow, max }, this.#continueExceeding, true);
        return;
      }
      if (this.#pending.size === 0) setImmediate(() => this.#flush());
      const batch = this.#pending.get(key);
      // A batch holds one window and limit (they come per route, so one key always asks the same).
      if (batch && batch.timeWindow === timeWindow && batch.max === max) batch.callbacks.push(callback);
      else if (batch) run(key, { callbacks: [callback], timeWindow, max }, this.#continueExceeding, false);
      else this.#pending.set(key, { callbacks: [callback], timeWindow, max });
    }

    #flush(): void {
      const pending = this.#pending;
      this.#pending = new Map();
      for (const [key, batch] of pending) run(key, batch, this.#continueExceeding, false);
    }

    child(route: RouteParams): CoalescedRedisStore {
      return new CoalescedRedisStore(route, `${this.#key}${route.routeInfo.method}${route.routeInfo.url}-`);
    }
  }
  return CoalescedRedisStore;
}
