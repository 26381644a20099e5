import { afterAll, afterEach, inject } from 'vitest';
import { type BuildAppOptions, buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { createMemoryStore } from '../../matchmaker/store/createMemoryStore.js';
import { createRedisStore, deleteRedisPrefix } from '../../matchmaker/store/createRedisStore.js';
import type { MatchmakerStore } from '../../matchmaker/store/MatchmakerStore.js';
import { TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import { TEST_BUILT_IN_GAMES, testPrefix } from './matchmaker-support.js';

/** One of the two stores every matchmaker behaviour is tested against, for `describe.each`. */
export type StoreKind = [name: 'memory' | 'redis', makeStore: () => MatchmakerStore];

/** Makes stores on one state; `flush` empties that state (Redis restarted empty; in-process: nothing to do). */
export type SameState = (() => MatchmakerStore) & { flush(): Promise<void> };

/** What `useMatchmakerStores` gives a test file. */
export interface MatchmakerStores {
  /** The in-process and the Redis store (a fresh key prefix each, deleted after the file). */
  storeKinds: StoreKind[];
  /** Builds a matchmaker on a store (the test edges' `pong` among the built-in games) and closes both after the test. */
  build(options: BuildAppOptions): Promise<MatchmakerApp>;
  /** Closes `store` after the test (for stores a test wraps or builds itself). */
  own(store: MatchmakerStore): MatchmakerStore;
  /**
   * A maker of stores on one state, as instances or restarts see it: Redis stores on one key prefix (what
   * another instance or a restarted one reads); in-process, a fresh empty store each call (what a restart has).
   */
  sameState(kind: StoreKind[0]): SameState;
}

/**
 * Registers the hooks that close every matchmaker and store a test made and delete the Redis keys
 * the file wrote; `name` tags the file's key prefixes. Call once at the top of a test file.
 */
export function useMatchmakerStores(name: string): MatchmakerStores {
  const redisUrl = inject('redisUrl');
  const prefixes: string[] = [];
  const apps: MatchmakerApp[] = [];
  const stores: MatchmakerStore[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const store of stores.splice(0)) await store.close();
  });
  afterAll(async () => {
    for (const p of prefixes) await deleteRedisPrefix(redisUrl, p);
  });
  const own = (store: MatchmakerStore): MatchmakerStore => {
    stores.push(store);
    return store;
  };
  const redisStore = (keyPrefix = testPrefix(name)): MatchmakerStore => {
    if (!prefixes.includes(keyPrefix)) prefixes.push(keyPrefix);
    return own(createRedisStore({ url: redisUrl, keyPrefix }));
  };
  return {
    storeKinds: [
      ['memory', () => own(createMemoryStore())],
      ['redis', () => redisStore()],
    ],
    sameState(kind) {
      if (kind === 'memory') return Object.assign(() => own(createMemoryStore()), { flush: async () => {} });
      const keyPrefix = testPrefix(name);
      return Object.assign(() => redisStore(keyPrefix), {
        flush: () => deleteRedisPrefix(redisUrl, keyPrefix),
      });
    },
    async build(options) {
      const app = await buildApp({
        ...options,
        config: {
          builtInGameIds: TEST_BUILT_IN_GAMES,
          sessionPrivateKey: TEST_SESSION_KEYS.privateKey,
          ...options.config,
        },
      });
      apps.push(app);
      return app;
    },
    own,
  };
}
