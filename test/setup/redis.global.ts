import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * Checks that the real Redis answers (FARPLAY_TEST_REDIS_URL, default redis://127.0.0.1:6379/15)
 * and hands its URL to tests. Tests use DB 15 and their own key prefix, and clean up after themselves.
 */
export default async function setup(project: TestProject): Promise<void> {
  const url = process.env.FARPLAY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not answering at ${url}; start redis-server (see .ci/run)`, { cause: error });
  } finally {
    redis.disconnect();
  }
  project.provide('redisUrl', url);
}
