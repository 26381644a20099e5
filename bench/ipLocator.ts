import { bundledIpLocationFiles, IpLocator } from '../matchmaker/IpLocator.js';

/**
 * The bundled IP-location database (matchmaker/IpLocator.ts): load time and memory, then µs per lookup over
 * 100,000 public IPv4 addresses spread over the space (after 10,000 to warm up). No network.
 * `npx tsx bench/ipLocator.ts`; last line one JSON object.
 */
const before = process.memoryUsage().rss;
const locator = new IpLocator(bundledIpLocationFiles());
let started = performance.now();
await locator.load();
const loadMs = performance.now() - started;
const rssMb = (process.memoryUsage().rss - before) / 1e6;
const addresses = Array.from(
  { length: 100_000 },
  (_, i) => `${((i * 7919) % 223) + 1}.${i % 256}.${(i * 31) % 256}.${(i * 17) % 256}`,
);
for (const address of addresses.slice(0, 10_000)) locator.locate(address);
started = performance.now();
let placed = 0;
for (const address of addresses) if (locator.locate(address)) placed++;
const lookupUs = ((performance.now() - started) * 1000) / addresses.length;
console.log(
  JSON.stringify({
    loadMs: Math.round(loadMs),
    rssMb: Math.round(rssMb),
    lookupUs: Math.round(lookupUs * 10) / 10,
    placed: placed / addresses.length,
  }),
);
