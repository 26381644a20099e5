/** A coarse location, degrees. */
export interface CoarseLocation {
  lat: number;
  lon: number;
}

/** Where the people of a time zone mostly are: its main city (the zone's own name, or the largest). */
const ZONES: Record<string, CoarseLocation> = {
  'America/New_York': { lat: 40.7, lon: -74 },
  'America/Toronto': { lat: 43.7, lon: -79.4 },
  'America/Chicago': { lat: 41.9, lon: -87.6 },
  'America/Denver': { lat: 39.7, lon: -105 },
  'America/Phoenix': { lat: 33.4, lon: -112 },
  'America/Los_Angeles': { lat: 34.1, lon: -118.2 },
  'America/Vancouver': { lat: 49.3, lon: -123.1 },
  'America/Mexico_City': { lat: 19.4, lon: -99.1 },
  'America/Bogota': { lat: 4.7, lon: -74.1 },
  'America/Lima': { lat: -12, lon: -77 },
  'America/Santiago': { lat: -33.4, lon: -70.7 },
  'America/Sao_Paulo': { lat: -23.5, lon: -46.6 },
  'America/Argentina/Buenos_Aires': { lat: -34.6, lon: -58.4 },
  'America/Buenos_Aires': { lat: -34.6, lon: -58.4 },
  'Europe/London': { lat: 51.5, lon: -0.1 },
  'Europe/Dublin': { lat: 53.3, lon: -6.3 },
  'Europe/Lisbon': { lat: 38.7, lon: -9.1 },
  'Europe/Madrid': { lat: 40.4, lon: -3.7 },
  'Europe/Paris': { lat: 48.9, lon: 2.35 },
  'Europe/Amsterdam': { lat: 52.4, lon: 4.9 },
  'Europe/Berlin': { lat: 52.5, lon: 13.4 },
  'Europe/Rome': { lat: 41.9, lon: 12.5 },
  'Europe/Stockholm': { lat: 59.3, lon: 18.1 },
  'Europe/Warsaw': { lat: 52.2, lon: 21 },
  'Europe/Athens': { lat: 38, lon: 23.7 },
  'Europe/Istanbul': { lat: 41, lon: 29 },
  'Europe/Kiev': { lat: 50.5, lon: 30.5 },
  'Europe/Kyiv': { lat: 50.5, lon: 30.5 },
  'Europe/Moscow': { lat: 55.8, lon: 37.6 },
  'Africa/Cairo': { lat: 30, lon: 31.2 },
  'Africa/Lagos': { lat: 6.5, lon: 3.4 },
  'Africa/Nairobi': { lat: -1.3, lon: 36.8 },
  'Africa/Johannesburg': { lat: -26.2, lon: 28 },
  'Asia/Dubai': { lat: 25.2, lon: 55.3 },
  'Asia/Kolkata': { lat: 19.1, lon: 72.9 },
  'Asia/Calcutta': { lat: 19.1, lon: 72.9 },
  'Asia/Bangkok': { lat: 13.8, lon: 100.5 },
  'Asia/Singapore': { lat: 1.35, lon: 103.8 },
  'Asia/Jakarta': { lat: -6.2, lon: 106.8 },
  'Asia/Shanghai': { lat: 31.2, lon: 121.5 },
  'Asia/Hong_Kong': { lat: 22.3, lon: 114.2 },
  'Asia/Taipei': { lat: 25, lon: 121.6 },
  'Asia/Seoul': { lat: 37.6, lon: 127 },
  'Asia/Tokyo': { lat: 35.7, lon: 139.7 },
  'Australia/Perth': { lat: -31.95, lon: 115.9 },
  'Australia/Brisbane': { lat: -27.5, lon: 153 },
  'Australia/Sydney': { lat: -33.9, lon: 151.2 },
  'Australia/Melbourne': { lat: -37.8, lon: 145 },
  'Pacific/Auckland': { lat: -36.8, lon: 174.8 },
};

/** Typical latitude of a region's people, for zones not in the table. */
const REGION_LAT: Record<string, number> = {
  Europe: 48,
  Africa: 5,
  Asia: 30,
  Australia: -30,
  America: 30,
  Pacific: -15,
  Atlantic: 35,
  Indian: -10,
};

/**
 * A coarse location hint from the browser's time zone, without asking for any permission: the zone's
 * main city when known, else the region's typical latitude and the longitude of the UTC offset
 * (15° an hour). Off by hundreds of kilometres — enough for the matchmaker to pick the right part of the
 * world to probe first. Undefined for zones that say nothing about a place (UTC, Etc/…).
 * `offsetMinutes` is `Date.prototype.getTimezoneOffset()` (minutes west of UTC).
 */
export function timezoneLocation(timeZone: string, offsetMinutes: number): CoarseLocation | undefined {
  const known = ZONES[timeZone];
  if (known) return { ...known };
  const region = timeZone.split('/')[0] ?? '';
  const lat = REGION_LAT[region];
  if (lat === undefined) return undefined;
  let lon = -offsetMinutes / 4;
  if (lon > 180) lon -= 360;
  if (lon < -180) lon += 360;
  return { lat, lon };
}
