import { describe, expect, it } from 'vitest';
import { clientPrefix, reservationHolders } from '../../matchmaker/reservationHolders.js';

describe('reservationHolders', () => {
  it('counts an IPv6 client by its /64 and an IPv4-mapped one as IPv4', () => {
    expect(clientPrefix('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(clientPrefix('2001:db8:0:1:ffff:ffff:ffff:2')).toBe('2001:db8:0:1::/64');
    expect(clientPrefix('2001:0db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientPrefix('::1')).toBe('0:0:0:0::/64');
    expect(clientPrefix('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientPrefix('192.0.2.7')).toBe('192.0.2.7');
    expect(clientPrefix('not an address')).toBeUndefined();
  });

  it('names the session key and the client, each with its cap; a cap of 0 names none', () => {
    expect(
      reservationHolders({ owner: '0xabc', client: '192.0.2.7', maxPerKey: 2, maxPerClient: 4 }),
    ).toEqual([
      { holder: 'key:0xabc', max: 2 },
      { holder: 'ip:192.0.2.7', max: 4 },
    ]);
    expect(
      reservationHolders({ owner: '0xabc', client: '192.0.2.7', maxPerKey: 0, maxPerClient: 0 }),
    ).toEqual([]);
    expect(
      reservationHolders({ owner: undefined, client: undefined, maxPerKey: 2, maxPerClient: 4 }),
    ).toEqual([]);
  });
});
