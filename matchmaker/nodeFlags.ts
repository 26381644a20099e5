/**
 * V8 flags the matchmaker process runs with: `docker-compose.yml` sets them in the matchmakers' `NODE_OPTIONS`, and
 * `bench/matchmaker.ts` starts `matchmaker/main.ts` with them (V8 reads them at start-up only: a process cannot set
 * them on itself). A 32 MiB semi-space (node 20's default grows to 16): at thousands of allocations a second the
 * young generation filled every ~25 ms and objects still in use by in-flight requests were promoted, so old space
 * grew ~200 MB between major collections; with twice the room half as many scavenges promote far less, and the
 * event loop's delay p99 fell from 10–20 ms to ~5 ms in loaded bench runs (matchmaker/README.md, Benchmark). Costs up to
 * 32 MiB more RSS.
 */
export const MATCHMAKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
