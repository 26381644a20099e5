import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { NetLabHost } from './createNetLabHost.js';

/**
 * Small UDP tools that run inside lab hosts (plain `node -e` scripts, so they start in ~50 ms and need
 * nothing from the repo): an echo/sink server, an RTT prober and a paced bulk sender.
 */

// Echo server: 'E…' datagrams are echoed, 'B…' are counted, 'Q' is answered with 'C<count>'.
const SERVER = `
const d = require('node:dgram').createSocket('udp4');
let bulk = 0;
d.on('message', (m, r) => {
  const k = m[0];
  if (k === 69) d.send(m, r.port, r.address);
  else if (k === 66) bulk++;
  else if (k === 81) d.send(Buffer.from('C' + bulk), r.port, r.address);
});
d.bind(0, '0.0.0.0', () => console.log(JSON.stringify({ port: d.address().port })));
`;

// Prober: argv = ip port count intervalMs timeoutMs. Prints {sent, received, rttsMs, inOrder}.
const PROBER = `
const [ip, port, count, interval, timeout] = process.argv.slice(1).map((x, i) => (i === 0 ? x : Number(x)));
const d = require('node:dgram').createSocket('udp4');
const sentAt = new Map(); const rtts = []; let last = -1; let inOrder = true; let sent = 0;
d.on('message', (m) => {
  const seq = m.readUInt32BE(1); const t = sentAt.get(seq);
  if (t === undefined) return;
  sentAt.delete(seq);
  rtts.push(Number(process.hrtime.bigint() - t) / 1e6);
  if (seq < last) inOrder = false;
  last = seq;
});
d.bind(0, () => {
  const timer = setInterval(() => {
    if (sent >= count) { clearInterval(timer); setTimeout(done, timeout); return; }
    const b = Buffer.alloc(64); b[0] = 69; b.writeUInt32BE(sent, 1);
    sentAt.set(sent, process.hrtime.bigint()); sent++;
    d.send(b, port, ip);
  }, interval);
});
function done() { console.log(JSON.stringify({ sent, received: rtts.length, rttsMs: rtts, inOrder })); process.exit(0); }
`;

// Bulk sender: argv = ip port kbps seconds size. Paced every 5 ms; then asks the sink for its count.
const BULK = `
const [ip, port, kbps, seconds, size] = process.argv.slice(1).map((x, i) => (i === 0 ? x : Number(x)));
const d = require('node:dgram').createSocket('udp4');
const payload = Buffer.alloc(size, 0x42);
const pps = (kbps * 1000) / 8 / size; const start = Date.now(); let sent = 0;
d.on('message', (m) => { if (m[0] === 67) { console.log(JSON.stringify({ sent, counted: Number(m.subarray(1).toString()) })); process.exit(0); } });
d.bind(0, () => {
  const timer = setInterval(() => {
    const elapsed = (Date.now() - start) / 1000;
    const due = Math.min(Math.floor(elapsed * pps), Math.floor(seconds * pps));
    while (sent < due) { d.send(payload, port, ip); sent++; }
    if (elapsed >= seconds) { clearInterval(timer); setTimeout(ask, 300); }
  }, 5);
});
function ask() { d.send(Buffer.from('Q'), port, ip); setTimeout(ask, 200); }
`;

/** A UDP echo/sink server running in a lab host. */
export interface UdpEchoServer {
  readonly port: number;
  readonly child: ChildProcess;
}

/** Starts the echo/sink server in `host` and resolves once it listens (on 0.0.0.0, an OS-chosen port). */
export async function startUdpEcho(host: NetLabHost): Promise<UdpEchoServer> {
  const child = host.spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await firstLine(child);
  return { port: (JSON.parse(line) as { port: number }).port, child };
}

/** Result of `probeRtt`: round-trip times in ms of the echoes that came back. */
export interface ProbeRttResult {
  sent: number;
  received: number;
  rttsMs: number[];
  /** Echoes came back in the order they were sent. */
  inOrder: boolean;
}

/** Sends `count` echo probes (64 B) from `from` to a server every `intervalMs`; waits `timeoutMs` after. */
export async function probeRtt(
  from: NetLabHost,
  to: { ip: string; port: number },
  options: { count?: number; intervalMs?: number; timeoutMs?: number } = {},
): Promise<ProbeRttResult> {
  const args = [to.ip, to.port, options.count ?? 20, options.intervalMs ?? 10, options.timeoutMs ?? 1000];
  const r = await from.run(process.execPath, ['-e', PROBER, ...args.map(String)], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`prober failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ProbeRttResult;
}

/** Sends paced UDP datagrams (`kbps`, `seconds`, `size` bytes) to the sink; returns sent and counted. */
export async function sendBulk(
  from: NetLabHost,
  to: { ip: string; port: number },
  options: { kbps: number; seconds: number; size?: number },
): Promise<{ sent: number; counted: number }> {
  const args = [to.ip, to.port, options.kbps, options.seconds, options.size ?? 1200];
  const r = await from.run(process.execPath, ['-e', BULK, ...args.map(String)], {
    timeoutMs: options.seconds * 1000 + 20_000,
  });
  if (r.code !== 0) throw new Error(`bulk sender failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { sent: number; counted: number };
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    if (child.stdout === null) return reject(new Error('child has no stdout pipe'));
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      rl.close();
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before printing`)));
  });
}
