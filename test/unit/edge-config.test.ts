import { describe, expect, it } from 'vitest';
import { edgeConfigEnvName, loadEdgeConfig, parseEdgeConfig } from '../../edge/config.js';

describe('edge config', () => {
  it('fills defaults and freezes', () => {
    const config = parseEdgeConfig({});
    expect(config).toMatchObject({
      port: 8700,
      capacity: 4,
      encoders: ['h264_nvenc', 'libx264'],
      iceServers: [],
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.encoders)).toBe(true);
  });

  it('reads FARPLAY_EDGE_* variables, JSON for lists', () => {
    expect(edgeConfigEnvName('videoBitrateKbps')).toBe('FARPLAY_EDGE_VIDEO_BITRATE_KBPS');
    const config = loadEdgeConfig({
      FARPLAY_EDGE_PORT: '0',
      FARPLAY_EDGE_CAPACITY: '8',
      FARPLAY_EDGE_ICE_SERVERS: '[{"urls":"stun:stun.example:3478"}]',
      FARPLAY_EDGE_MATCHMAKER_PUBLIC_KEY: 'MCowBQYDK2VwAyEAexampleexampleexample',
    });
    expect(config).toMatchObject({ port: 0, capacity: 8, iceServers: [{ urls: 'stun:stun.example:3478' }] });
  });

  it('names the bad field', () => {
    expect(() => loadEdgeConfig({ FARPLAY_EDGE_CAPACITY: 'many' })).toThrow(/\/capacity/);
    expect(() => loadEdgeConfig({ FARPLAY_EDGE_ICE_SERVERS: '[oops' })).toThrow(/FARPLAY_EDGE_ICE_SERVERS/);
    expect(() => parseEdgeConfig({ nodePrivateKey: '0x12' })).toThrow(
      expect.objectContaining({ code: 'EDGE_BAD_CONFIG' }),
    );
    expect(() => parseEdgeConfig({ minVideoBitrateKbps: 5000, maxVideoBitrateKbps: 1000 })).toThrow(
      /minVideoBitrateKbps/,
    );
  });
});
