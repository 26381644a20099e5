import { describe, expect, it } from 'vitest';
import { acceptBundleOnly } from '../../edge/session/acceptBundleOnly.js';

const offer = (audio: string, group = 'a=group:BUNDLE 0 1') =>
  [
    'v=0',
    'o=- 1 0 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    group,
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:0123456789abcdef012345',
    'a=fingerprint:sha-256 AA:BB',
    'a=setup:actpass',
    'a=recvonly',
    'a=rtpmap:96 H264/90000',
    audio,
    'a=mid:1',
    'a=recvonly',
    'a=rtpmap:97 OPUS/48000/2',
    '',
  ].join('\r\n');

describe('bundle-only offers', () => {
  it('gives a bundle-only section the BUNDLE transport: port and ICE/DTLS attributes', () => {
    const sdp = acceptBundleOnly(offer('m=audio 0 UDP/TLS/RTP/SAVPF 97\r\na=bundle-only'));
    const audio = sdp.slice(sdp.indexOf('m=audio'));
    expect(audio).toMatch(/^m=audio 9 UDP\/TLS\/RTP\/SAVPF 97\r\nc=IN IP4 0\.0\.0\.0\r\n/);
    expect(audio).not.toContain('a=bundle-only');
    for (const line of ['a=ice-ufrag:abcd', 'a=fingerprint:sha-256 AA:BB', 'a=setup:actpass'])
      expect(audio).toContain(line);
    expect(sdp.endsWith('\r\n')).toBe(true);
  });

  it('leaves other offers alone: no bundle-only, or a section rejected outside the group', () => {
    const plain = offer('m=audio 9 UDP/TLS/RTP/SAVPF 97');
    expect(acceptBundleOnly(plain)).toBe(plain);
    const rejected = offer('m=audio 0 UDP/TLS/RTP/SAVPF 97\r\na=bundle-only', 'a=group:BUNDLE 0');
    expect(acceptBundleOnly(rejected)).toBe(rejected);
  });
});
