import { describe, expect, it } from 'vitest';
import { timezoneLocation } from '../../player/src/timezoneLocation.js';

describe('a coarse location hint from the time zone', () => {
  it("uses a known zone's main city", () => {
    expect(timezoneLocation('Europe/Paris', -60)).toEqual({ lat: 48.9, lon: 2.35 });
    expect(timezoneLocation('America/Sao_Paulo', 180)?.lat).toBeLessThan(0);
  });

  it("falls back to the region's latitude and the offset's longitude", () => {
    // Europe/Vienna is not in the table: UTC+1 → 15° E, European latitude.
    expect(timezoneLocation('Europe/Vienna', -60)).toEqual({ lat: 48, lon: 15 });
    expect(timezoneLocation('America/Halifax', 240)).toEqual({ lat: 30, lon: -60 });
  });

  it('gives no hint for zones that name no place', () => {
    expect(timezoneLocation('UTC', 0)).toBeUndefined();
    expect(timezoneLocation('Etc/GMT+3', 180)).toBeUndefined();
  });
});
