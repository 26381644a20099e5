import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { findError } from '../../protocol/errors.js';
import { configEnvName, defineConfig, LogLevel } from '../../protocol/loadConfig.js';

const config = defineConfig({
  schema: Type.Object({
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 80 }),
    peers: Type.Array(Type.Object({ url: Type.String() }), { default: [] }),
    logLevel: LogLevel,
    low: Type.Integer({ default: 1 }),
    high: Type.Integer({ default: 2 }),
  }),
  envPrefix: 'FARPLAY_TEST_',
  errorCode: 'MM_BAD_CONFIG',
  label: 'test',
  refine: (c) => (c.low > c.high ? 'low > high' : undefined),
});

describe('defineConfig: one loader for every part', () => {
  it('applies defaults, converts env strings and parses JSON arrays', () => {
    const parsed = config.fromEnv({
      FARPLAY_TEST_PORT: '9100',
      FARPLAY_TEST_PEERS: '[{"url":"http://a"}]',
      FARPLAY_TEST_LOG_LEVEL: '',
      UNRELATED: 'x',
    });
    expect(parsed).toEqual({ port: 9100, peers: [{ url: 'http://a' }], logLevel: 'info', low: 1, high: 2 });
  });

  it('deep-freezes what it returns, so no part can change another part’s config', () => {
    const parsed = config.parse({ peers: [{ url: 'http://a' }] });
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(Object.isFrozen(parsed.peers)).toBe(true);
    expect(Object.isFrozen(parsed.peers[0])).toBe(true);
  });

  it('names the bad field and its variable, with the part’s stable code', () => {
    const bad = (() => {
      try {
        config.fromEnv({ FARPLAY_TEST_PORT: 'eighty' });
      } catch (error) {
        return error;
      }
    })();
    expect(findError(bad)?.code).toBe('MM_BAD_CONFIG');
    expect(String((bad as Error).message)).toMatch(/\/port \(FARPLAY_TEST_PORT\)/);
    expect(() => config.fromEnv({ FARPLAY_TEST_PEERS: '[oops' })).toThrow(/FARPLAY_TEST_PEERS is not JSON/);
    expect(() => config.parse({ low: 5, high: 1 })).toThrow(/low > high/);
    expect(() => config.parse({ logLevel: 'loud' })).toThrow(/logLevel/);
  });

  it('maps camelCase fields to upper snake case variables', () => {
    expect(configEnvName('FARPLAY_EDGE_', 'videoBitrateKbps')).toBe('FARPLAY_EDGE_VIDEO_BITRATE_KBPS');
    expect(config.envName('logLevel')).toBe('FARPLAY_TEST_LOG_LEVEL');
  });
});
