import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { matchmakerKeySource } from '../../edge/control/matchmakerKeySource.js';
import { filterSdpCandidates, remoteCandidateAllowed } from '../../edge/session/remoteCandidateAllowed.js';
import { parseStudioKeys } from '../../matchmaker/config.js';
import { redactUrl } from '../../protocol/logRedactions.js';
import { clientAddressOf, proxyTrust } from '../../protocol/proxyTrust.js';

// Issue 8, smaller holes that need no running service.

describe('log redaction', () => {
  it('replaces the values of ?token= and ?proof= (and other secrets) in a logged URL', () => {
    expect(redactUrl('/v1/whep?token=v1.abc.def')).toBe('/v1/whep?token=[REDACTED]');
    expect(redactUrl('/v1/sessions/s1/events?proof=eyJpc3N1ZWRBdCI6MX0&x=1')).toBe(
      '/v1/sessions/s1/events?proof=[REDACTED]&x=1',
    );
    expect(redactUrl('/v1/signal?game=pong&Token=secret')).toBe('/v1/signal?game=pong&Token=[REDACTED]');
    expect(redactUrl('/v1/games')).toBe('/v1/games');
  });
});

describe('studio keys', () => {
  it('keeps a key that contains "=" whole (base64 padding)', () => {
    const keys = parseStudioKeys('acme=c2VjcmV0a2V5==, umbrella = k2 ,broken');
    expect(keys.get('c2VjcmV0a2V5==')).toBe('acme');
    expect(keys.get('k2')).toBe('umbrella');
    expect(keys.get('c2VjcmV0a2V5')).toBeUndefined();
    expect(keys.size).toBe(2);
  });
});

describe('remote ICE candidates', () => {
  const line = (address: string) => `candidate:1 1 udp 2130706431 ${address} 50000 typ host`;
  it('a public edge refuses loopback, link-local, private, CGNAT and mDNS candidates', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.5',
      '192.168.1.10',
      '169.254.1.1',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::5',
      '::ffff:127.0.0.1',
      'abcd-1234.local',
    ]) {
      expect(remoteCandidateAllowed(line(address), false), address).toBe(false);
    }
    expect(remoteCandidateAllowed(line('203.0.113.7'), false)).toBe(true);
    expect(remoteCandidateAllowed(`a=${line('2001:db8::7')}`, false)).toBe(true);
    expect(remoteCandidateAllowed('garbage', false)).toBe(false);
    expect(remoteCandidateAllowed(line('127.0.0.1'), true)).toBe(true);
  });

  it('drops refused candidates from an SDP and keeps the rest', () => {
    const sdp = ['v=0', `a=${line('127.0.0.1')}`, `a=${line('198.51.100.9')}`, 'a=end-of-candidates'].join(
      '\r\n',
    );
    expect(filterSdpCandidates(sdp, false)).toBe(
      ['v=0', `a=${line('198.51.100.9')}`, 'a=end-of-candidates'].join('\r\n'),
    );
    expect(filterSdpCandidates(sdp, true)).toBe(sdp);
  });
});

describe('matchmaker token key', () => {
  it('is pinned in config; fetched only over HTTPS or loopback; a remote plain-HTTP matchmaker is refused', () => {
    expect(
      matchmakerKeySource({ matchmakerPublicKey: 'MCowBQYDK2VwAyEA', matchmakerUrl: 'http://mm.example' }),
    ).toBe('pinned');
    expect(matchmakerKeySource({ matchmakerUrl: 'https://mm.example' })).toBe('fetch');
    expect(matchmakerKeySource({ matchmakerUrl: 'http://127.0.0.1:8080' })).toBe('fetch');
    expect(matchmakerKeySource({})).toBe('standalone');
    expect(() => matchmakerKeySource({ matchmakerUrl: 'http://mm.example:8080' })).toThrow(
      expect.objectContaining({ code: 'EDGE_BAD_CONFIG' }),
    );
  });
});

describe('client address of a WebSocket upgrade', () => {
  const request = (peer: string, forwarded?: string) =>
    ({
      socket: { remoteAddress: peer },
      headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
    }) as unknown as IncomingMessage;

  it('believes X-Forwarded-For only hop by hop from trusted proxies', () => {
    const none = proxyTrust('');
    expect(clientAddressOf(request('203.0.113.5', '198.51.100.1'), none)).toBe('203.0.113.5');
    const lb = proxyTrust('10.0.0.0/8, 2001:db8::1');
    expect(clientAddressOf(request('10.1.2.3', '198.51.100.1'), lb)).toBe('198.51.100.1');
    // A client cannot prepend its own "forwarded" address: only the proxy's own hop counts.
    expect(clientAddressOf(request('10.1.2.3', '6.6.6.6, 198.51.100.1'), lb)).toBe('198.51.100.1');
    expect(clientAddressOf(request('::ffff:10.9.9.9', '198.51.100.2'), lb)).toBe('198.51.100.2');
    expect(clientAddressOf(request('203.0.113.5', '198.51.100.1'), lb)).toBe('203.0.113.5');
    const twoHops = proxyTrust('2');
    expect(clientAddressOf(request('10.0.0.1', '198.51.100.9, 10.0.0.2'), twoHops)).toBe('198.51.100.9');
    expect(() => proxyTrust('10.0.0.0/8, not-an-address')).toThrow(/not-an-address/);
  });
});
