/**
 * netlab self-check: how faithfully the emulator reproduces configured delays, and how many packets/s
 * it forwards. Run as root: `npx tsx test/tools/netlab/cli/selfcheck.ts`. Last line: one JSON object.
 */
import { createNetLab } from '../createNetLab.js';
import { netLabUnsupportedReason } from '../netLabUnsupportedReason.js';
import { median, probeRtt, sendBulk, startUdpEcho } from '../udpProbe.js';

// Unpaced sender: argv = ip port seconds size; sends batches as fast as the socket takes them.
const FLOOD = `
const [ip, port, seconds, size] = process.argv.slice(1).map((x, i) => (i === 0 ? x : Number(x)));
const d = require('node:dgram').createSocket('udp4');
const b = Buffer.alloc(size, 0x42); const end = Date.now() + seconds * 1000; let sent = 0;
d.bind(0, () => { (function batch() {
  if (Date.now() >= end) { console.log(JSON.stringify({ sent })); process.exit(0); }
  let pending = 32;
  for (let i = 0; i < 32; i++) d.send(b, port, ip, () => { sent++; if (--pending === 0) batch(); });
})(); });
`;

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

const reason = netLabUnsupportedReason();
if (reason !== null) {
  console.error(`netlab self-check cannot run: ${reason}`);
  process.exit(2);
}

const lab = await createNetLab({
  hosts: [
    { name: 'player', delayMs: 5 },
    { name: 'edge10', delayMs: 0 },
    { name: 'edge40', delayMs: 15 },
    { name: 'edge80', delayMs: 35 },
  ],
});
try {
  // 1. RTT accuracy: end to end (TAPs + kernel + Node event loops), 100 probes each.
  const rtt: Record<string, { configuredMs: number; medianMs: number; p99Ms: number; lost: number }> = {};
  const excess: number[] = [];
  for (const [name, configured] of [
    ['edge10', 10],
    ['edge40', 40],
    ['edge80', 80],
  ] as const) {
    const server = await startUdpEcho(lab.host(name));
    const r = await probeRtt(
      lab.host('player'),
      { ip: lab.host(name).ip, port: server.port },
      { count: 100 },
    );
    rtt[name] = {
      configuredMs: configured,
      medianMs: round(median(r.rttsMs)),
      p99Ms: round(quantile(r.rttsMs, 0.99)),
      lost: r.sent - r.received,
    };
    excess.push(...r.rttsMs.map((x) => x - configured));
    console.log(`RTT ${name}: configured ${configured} ms, measured`, rtt[name]);
  }

  // 2. Forwarder lateness (departure vs schedule) while carrying 8 Mbit/s (~830 pps) with 40 ms RTT.
  const sink = await startUdpEcho(lab.host('edge40'));
  await lab.resetStats();
  const bulk = await sendBulk(
    lab.host('player'),
    { ip: lab.host('edge40').ip, port: sink.port },
    {
      kbps: 8000,
      seconds: 3,
    },
  );
  const loaded = await lab.stats();
  console.log('8 Mbit/s bulk:', bulk, 'lateness', loaded.late);

  // 3. Max forwarded pps: two unpaced 200-byte floods for 3 s into edge10, 10 ms one way (frames queue).
  const sink10 = await startUdpEcho(lab.host('edge10'));
  await lab.resetStats();
  const t0 = process.hrtime.bigint();
  const floods = await Promise.all(
    (['player', 'edge80'] as const).map((h) =>
      lab
        .host(h)
        .run(process.execPath, ['-e', FLOOD, lab.host('edge10').ip, String(sink10.port), '3', '200']),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const flood = await lab.stats();
  const offered = floods.reduce((n, f) => n + (JSON.parse(f.stdout) as { sent: number }).sent, 0);
  const forwarded = flood.ports.reduce((n, p) => n + p.tx, 0);
  const dropped = flood.ports.reduce((n, p) => n + p.dropQueue + p.dropWrite, 0);
  console.log(
    `flood: offered ${offered} frames, forwarded ${forwarded}, dropped ${dropped} in ${round(seconds)} s`,
  );

  const result = {
    rtt,
    rttExcessMs: { p50: round(quantile(excess, 0.5), 3), p99: round(quantile(excess, 0.99), 3) },
    forwarderLateUs: { p50: loaded.late.p50Us, p99: loaded.late.p99Us, max: round(loaded.late.maxUs, 1) },
    bulk8Mbit: { sent: bulk.sent, delivered: bulk.counted },
    maxForwardedPps: Math.round(forwarded / seconds),
    floodLateUs: { p50: flood.late.p50Us, p99: flood.late.p99Us },
    rtScheduling: loaded.rtSched === 1,
  };
  console.log(JSON.stringify(result));
} finally {
  await lab.close();
}
