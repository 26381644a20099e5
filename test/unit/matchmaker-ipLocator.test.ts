import { describe, expect, it } from 'vitest';
import { haversineKm } from '../../matchmaker/geo.js';
import { bundledIpLocationFiles, IpLocator, ipLocationFiles } from '../../matchmaker/IpLocator.js';

// The real bundled database (DB-IP City Lite from the npm registry), read from disk: no network.
const locator = new IpLocator(bundledIpLocationFiles());

/** Well-known public addresses whose country does not move: a public resolver and university networks. */
const KNOWN = [
  // Google Public DNS: anycast, but registered and placed in the US.
  { address: '8.8.8.8', country: 'US' },
  // Humboldt-Universität zu Berlin.
  { address: '141.20.1.1', country: 'DE', near: { lat: 52.52, lon: 13.4 }, km: 300 },
  // Universität Göttingen.
  { address: '134.76.10.46', country: 'DE', near: { lat: 51.54, lon: 9.93 }, km: 300 },
  // The University of Tokyo.
  { address: '130.69.1.1', country: 'JP', near: { lat: 35.71, lon: 139.76 }, km: 300 },
  // Leibniz-Rechenzentrum, Munich, over IPv6.
  { address: '2001:4ca0::1', country: 'DE', near: { lat: 48.14, lon: 11.58 }, km: 300 },
] as const;

describe('IpLocator on the bundled DB-IP City Lite', () => {
  it('places well-known public addresses in their country, near their city', async () => {
    await locator.load();
    for (const known of KNOWN) {
      const found = locator.locate(known.address);
      expect(found, known.address).toBeDefined();
      expect(found?.country, known.address).toBe(known.country);
      if ('near' in known && found)
        expect(haversineKm(found.lat, found.lon, known.near.lat, known.near.lon), known.address).toBeLessThan(
          known.km,
        );
    }
    // An IPv4-mapped IPv6 address is its IPv4 address.
    expect(locator.locate('::ffff:130.69.1.1')).toEqual(locator.locate('130.69.1.1'));
  });

  it('places no private, loopback, link-local, CGNAT or malformed address', async () => {
    await locator.load();
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.5.4',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.1.1',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:192.168.1.1',
      'not an address',
      '',
    ])
      expect(locator.locate(address), address).toBeUndefined();
  });

  it('answers nothing before its files are read, starts reading on the first public address, and is off with no files', async () => {
    const cold = new IpLocator(bundledIpLocationFiles());
    expect(cold.locate('130.69.1.1')).toBeUndefined();
    await cold.load();
    expect(cold.locate('130.69.1.1')?.country).toBe('JP');

    const off = new IpLocator(ipLocationFiles('off'));
    expect(off.enabled).toBe(false);
    expect(off.locate('130.69.1.1')).toBeUndefined();
    expect(ipLocationFiles('dbip')).toEqual(bundledIpLocationFiles());
    expect(ipLocationFiles(' /a.mmdb, /b.mmdb ')).toEqual(['/a.mmdb', '/b.mmdb']);
  });

  it('fails to load a file that is not an mmdb database', async () => {
    const broken = new IpLocator([new URL(import.meta.url).pathname]);
    await expect(broken.load()).rejects.toThrow();
    expect(broken.locate('130.69.1.1')).toBeUndefined();
  });
});
