/** Mean Earth radius, km. */
export const EARTH_RADIUS_KM = 6371;

/** Great-circle distance between two points, km. */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Redis GEO accepts latitudes within ±85.05112878°. */
export function clampGeoLat(lat: number): number {
  return Math.max(-85.05112878, Math.min(85.05112878, lat));
}

/** The point on the unit sphere at a latitude/longitude. */
export function unitVector(lat: number, lon: number): number[] {
  const phi = (lat * Math.PI) / 180;
  const lambda = (lon * Math.PI) / 180;
  return [Math.cos(phi) * Math.cos(lambda), Math.cos(phi) * Math.sin(lambda), Math.sin(phi)];
}
