const UNITS: readonly [string, number][] = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
];

/** A span of seconds in plain words, its two largest units: "7 days", "2 hours 30 minutes", "45 seconds". */
export function describeDuration(seconds: number | bigint): string {
  let left = Math.max(0, Math.ceil(Number(seconds)));
  if (left === 0) return 'no time';
  const parts: string[] = [];
  for (const [name, size] of UNITS) {
    const count = Math.floor(left / size);
    if (count > 0 && parts.length < 2) parts.push(`${count} ${name}${count === 1 ? '' : 's'}`);
    if (count > 0) left -= count * size;
    if (parts.length > 0 && count === 0) break;
  }
  return parts.join(' ');
}
