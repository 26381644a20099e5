/**
 * Regional price multiplier from supply and demand: requests per minute over free slots; 1 while
 * supply covers demand, rising by half of the excess ratio, capped at 4. Rounded to 0.05.
 */
export function priceMultiplier(requests: number, free: number, windowMs: number): number {
  const perMinute = (requests * 60_000) / windowMs;
  const ratio = perMinute / Math.max(1, free);
  const m = Math.min(4, Math.max(1, 1 + 0.5 * (ratio - 1)));
  return Math.round(m * 20) / 20;
}
