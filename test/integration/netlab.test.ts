import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanupStaleNetLabs } from '../tools/netlab/cleanupStaleNetLabs.js';
import { createNetLab, type NetLab } from '../tools/netlab/createNetLab.js';
import { NetLabError } from '../tools/netlab/NetLabError.js';
import { netLabUnsupportedReason } from '../tools/netlab/netLabUnsupportedReason.js';
import { median, probeRtt, sendBulk, startUdpEcho, type UdpEchoServer } from '../tools/netlab/udpProbe.js';

const unsupported = netLabUnsupportedReason();
if (unsupported !== null) {
  // biome-ignore lint/suspicious/noConsole: tell whoever runs the suite why these tests skip
  console.warn(`netlab tests skipped: ${unsupported}`);
}

/** A process that exists and is not a zombie waiting for its reaper. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe.skipIf(unsupported !== null)('netlab: emulated hosts with real delay, loss and partitions', () => {
  let lab: NetLab;
  const servers = new Map<string, UdpEchoServer>();
  const target = (name: string) => ({ ip: lab.host(name).ip, port: servers.get(name)?.port ?? 0 });

  beforeAll(async () => {
    // RTT player↔edge = 2·(5 + edge delay): 10, 40 and 80 ms.
    lab = await createNetLab({
      hosts: [
        { name: 'player', delayMs: 5 },
        { name: 'edge-near', delayMs: 0 },
        { name: 'edge-mid', delayMs: 15 },
        { name: 'edge-far', delayMs: 35 },
        { name: 'root', delayMs: 0 },
      ],
    });
    for (const name of ['edge-near', 'edge-mid', 'edge-far'])
      servers.set(name, await startUdpEcho(lab.host(name)));
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('measured RTT to each edge matches the configured delays, nearest first', async () => {
    const medians: number[] = [];
    for (const [name, rtt] of [
      ['edge-near', 10],
      ['edge-mid', 40],
      ['edge-far', 80],
    ] as const) {
      const r = await probeRtt(lab.host('player'), target(name), { count: 15, intervalMs: 20 });
      expect(r.received, name).toBe(15);
      const m = median(r.rttsMs);
      medians.push(m);
      // Emulated delay is a floor; the real stack (TAPs, Node event loops) adds a little on top.
      expect(m, name).toBeGreaterThanOrEqual(rtt - 0.5);
      expect(m, name).toBeLessThanOrEqual(rtt * 1.2 + 5);
    }
    expect(medians).toEqual([...medians].sort((a, b) => a - b));
  });

  it('changes delay at runtime', async () => {
    await lab.setLink('edge-near', { delayMs: 20 }); // RTT now 2·(5+20) = 50 ms
    const r = await probeRtt(lab.host('player'), target('edge-near'), { count: 10, intervalMs: 20 });
    await lab.setLink('edge-near', { delayMs: 0 });
    expect(median(r.rttsMs)).toBeGreaterThanOrEqual(49.5);
    expect(median(r.rttsMs)).toBeLessThanOrEqual(65);
  });

  it('jitter spreads RTTs but keeps packets in order (unless reordering is asked for)', async () => {
    await lab.setLink('edge-mid', { jitterMs: 8 });
    const ordered = await probeRtt(lab.host('player'), target('edge-mid'), { count: 60, intervalMs: 2 });
    await lab.setLink('edge-mid', { reorder: true });
    const reordered = await probeRtt(lab.host('player'), target('edge-mid'), { count: 60, intervalMs: 2 });
    await lab.setLink('edge-mid', { jitterMs: 0, reorder: false });
    expect(ordered.received).toBe(60);
    expect(ordered.inOrder).toBe(true);
    const sorted = [...reordered.rttsMs].sort((a, b) => a - b);
    // ±8 ms on each of the edge's two legs: the spread is many ms, not the sub-ms of a fixed delay.
    expect((sorted[53] ?? 0) - (sorted[6] ?? 0)).toBeGreaterThan(4);
    expect(reordered.inOrder).toBe(false);
  });

  it('loss drops about the configured fraction', async () => {
    await lab.setLink('player', { lossPct: 20 });
    const r = await sendBulk(lab.host('player'), target('edge-near'), { kbps: 2000, seconds: 2, size: 500 });
    await lab.setLink('player', { lossPct: 0 });
    expect(r.sent).toBeGreaterThan(900);
    expect(r.counted / r.sent).toBeGreaterThan(0.74);
    expect(r.counted / r.sent).toBeLessThan(0.86);
  });

  it('down cuts a host off and restoring brings it back', async () => {
    await lab.setLink('edge-far', { down: true });
    const cut = await probeRtt(lab.host('player'), target('edge-far'), {
      count: 5,
      intervalMs: 20,
      timeoutMs: 300,
    });
    expect(cut.received).toBe(0);
    await lab.setLink('edge-far', { down: false });
    const back = await probeRtt(lab.host('player'), target('edge-far'), { count: 5, intervalMs: 20 });
    expect(back.received).toBe(5);
  });

  it('passes a few Mbit/s of UDP without excess loss', async () => {
    await lab.resetStats();
    const r = await sendBulk(lab.host('player'), target('edge-mid'), { kbps: 6000, seconds: 3, size: 1200 });
    expect(r.sent).toBeGreaterThan(1800);
    expect(r.counted / r.sent).toBeGreaterThan(0.99);
    const stats = await lab.stats();
    expect(stats.ports.reduce((n, p) => n + p.dropQueue + p.dropWrite, 0)).toBe(0);
  });

  it('rateKbit caps a host upstream, and lifting it restores full throughput', async () => {
    const sink = await startUdpEcho(lab.host('player'));
    const to = { ip: lab.host('player').ip, port: sink.port };
    await lab.setLink('edge-mid', { rateKbit: 2000 });
    const capped = await sendBulk(lab.host('edge-mid'), to, { kbps: 4000, seconds: 2, size: 1200 });
    await lab.setLink('edge-mid', { rateKbit: 0 });
    const free = await sendBulk(lab.host('edge-mid'), to, { kbps: 4000, seconds: 2, size: 1200 });
    const deliveredKbit = (capped.counted * 1200 * 8) / 2 / 1000;
    expect(deliveredKbit).toBeGreaterThan(1500);
    expect(deliveredKbit).toBeLessThan(2600);
    expect(free.counted / free.sent).toBeGreaterThan(0.99);
  });

  it('the test process reaches a Node HTTP server inside a namespace through the root host', async () => {
    const server = lab.host('edge-mid').spawn(
      process.execPath,
      [
        '-e',
        `const s = require('node:http').createServer((q, r) => r.end(process.env.EDGE_NAME));
         s.listen(0, '0.0.0.0', () => console.log(s.address().port));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { EDGE_NAME: 'edge-mid' } }, // no PATH needed
    );
    const port = await new Promise<string>((resolve) => {
      if (server.stdout) createInterface({ input: server.stdout }).once('line', resolve);
    });
    const response = await fetch(`http://${lab.host('edge-mid').ip}:${port}/`);
    expect(await response.text()).toBe('edge-mid');
  });

  it('a host in a namespace reaches a server in the test process through the root host', async () => {
    const server = createServer((_request, response) => response.end('from the test process'));
    await new Promise<void>((resolve) => server.listen(0, lab.host('root').ip, resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await lab
        .host('player')
        .run(process.execPath, [
          '-e',
          `fetch('http://${lab.host('root').ip}:${port}/').then(async (r) => console.log(await r.text()))`,
        ]);
      expect(r.stdout.trim()).toBe('from the test process');
    } finally {
      server.close();
    }
  });

  it('rejects bad configuration with a clear code', async () => {
    await expect(createNetLab({ hosts: [{ name: 'a' }, { name: 'a' }] })).rejects.toMatchObject({
      code: 'NETLAB_BAD_CONFIG',
    });
    await expect(createNetLab({ hosts: [{ name: 'a', lossPct: 150 }] })).rejects.toBeInstanceOf(NetLabError);
    await expect(lab.setLink('nobody', { delayMs: 1 })).rejects.toMatchObject({ code: 'NETLAB_BAD_CONFIG' });
  });
});

describe.skipIf(unsupported !== null)('netlab: cleanup', () => {
  it('close() leaves no namespaces, devices or processes behind, and is idempotent', async () => {
    const lab = await createNetLab({ hosts: [{ name: 'a' }, { name: 'b' }, { name: 'root' }] });
    const child = lab.host('a').spawn('sleep', ['300'], { stdio: 'ignore' });
    const grandchild = lab.host('b').spawn('sh', ['-c', 'sleep 300 & wait'], { stdio: 'ignore' });
    const netns = lab.hosts.flatMap((h) => (h.netns === null ? [] : [h.netns]));
    const ifaces = lab.hosts.map((h) => h.iface);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(netns[0]);
    const pidsIn = (netns: string): number[] =>
      execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number);
    // sh and the sleep it forks
    const inside = await vi.waitFor(() => {
      const pids = pidsIn(netns[1] ?? '');
      if (pids.length < 2) throw new Error(`only ${pids.length} processes in ${netns[1]} yet`);
      return pids;
    });

    await Promise.all([lab.close(), lab.close()]);
    await lab.close();

    expect(lab.closed).toBe(true);
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const name of netns) expect(namespaces).not.toContain(name);
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    for (const iface of ifaces) expect(links).not.toContain(iface);
    await vi.waitFor(() => {
      for (const pid of [child.pid, grandchild.pid, lab.forwarderPid, ...inside]) {
        expect(alive(pid ?? -1), `pid ${pid}`).toBe(false);
      }
    });
    expect(() => lab.host('a').spawn('true')).toThrow(NetLabError);
  });

  it('parallel labs with a root host get distinct subnets and each stays reachable', async () => {
    const labs = await Promise.all(
      [0, 1].map(() => createNetLab({ hosts: [{ name: 'root' }, { name: 'edge' }] })),
    );
    try {
      expect(labs[0]?.subnet).not.toBe(labs[1]?.subnet);
      for (const lab of labs) {
        const server = await startUdpEcho(lab.host('edge'));
        const r = await probeRtt(
          lab.host('root'),
          { ip: lab.host('edge').ip, port: server.port },
          { count: 3 },
        );
        expect(r.received).toBe(3);
      }
    } finally {
      await Promise.all(labs.map((lab) => lab.close()));
    }
    const addresses = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
    for (const lab of labs) expect(addresses).not.toContain(`${lab.subnet}.`);
  });

  it('a process that exits without close() still takes its lab down', async () => {
    const script = `import('./test/tools/netlab/createNetLab.ts').then(async (m) => {
      const lab = await m.createNetLab({ hosts: [{ name: 'a' }, { name: 'b' }] });
      const child = lab.host('a').spawn('sleep', ['300'], { stdio: 'ignore' });
      console.log(JSON.stringify({ netns: lab.hosts.map((h) => h.netns), iface: lab.hosts.map((h) => h.iface),
        pids: [child.pid, lab.forwarderPid] }));
      process.exit(0);
    })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const left = JSON.parse(r.stdout) as { netns: string[]; iface: string[]; pids: number[] };
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const name of left.netns) expect(namespaces).not.toContain(name);
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    for (const iface of left.iface) expect(links).not.toContain(iface);
    // SIGKILL is asynchronous: give the kernel a moment to finish them off.
    await vi.waitFor(() => {
      for (const pid of left.pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    });
  });

  it('removes leftovers of a dead run with the same prefix, and only those', async () => {
    const dead = 'fpnl-999999999-0-ghost'; // above pid_max: its creator is certainly gone
    const live = `fpnl-${process.pid}-zz-mine`;
    execFileSync('ip', ['netns', 'add', dead]);
    execFileSync('ip', ['netns', 'add', live]);
    try {
      expect(cleanupStaleNetLabs()).toContain(dead);
      const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      expect(namespaces).not.toContain(dead);
      expect(namespaces).toContain(live);
    } finally {
      execFileSync('ip', ['netns', 'del', live]);
      spawnSync('ip', ['netns', 'del', dead], { stdio: 'ignore' });
    }
  });

  it('without root it refuses with a reason that says so', () => {
    const script = `import('./test/tools/netlab/createNetLab.ts').then(async (m) => {
      try { await m.createNetLab({ hosts: [{ name: 'a' }] }); } catch (e) { console.log(e.code + ': ' + e.message); }
    })`;
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '-e', script],
      { encoding: 'utf8', cwd: process.cwd() },
    );
    if (r.error !== undefined) return; // no setpriv on this machine: nothing to check
    expect(r.stdout).toContain('NETLAB_UNSUPPORTED: netlab needs root');
  });
});
