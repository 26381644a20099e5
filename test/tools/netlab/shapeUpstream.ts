import { spawn } from 'node:child_process';
import { NetLabError } from './NetLabError.js';

/** Sets (rate > 0) or removes (0) the tbf qdisc that limits a host's upstream. */
export async function shapeUpstream(
  host: { netns: string | null; iface: string } | undefined,
  rateKbit: number,
): Promise<void> {
  if (host === undefined) return;
  const where = host.netns === null ? [] : ['-n', host.netns];
  // burst: 10 ms at the rate, at least 16 kB so a full frame and small bursts pass.
  const burst = Math.max(16_000, Math.ceil((rateKbit * 1000) / 8 / 100));
  const args =
    rateKbit > 0
      ? [
          ...where,
          'qdisc',
          'replace',
          'dev',
          host.iface,
          'root',
          'tbf',
          'rate',
          `${Math.round(rateKbit)}kbit`,
        ].concat(['burst', String(burst), 'latency', '50ms'])
      : [...where, 'qdisc', 'del', 'dev', host.iface, 'root'];
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn('tc', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (error) => resolve({ code: -1, stderr: String(error) }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  if (r.code !== 0) {
    throw new NetLabError('NETLAB_SETUP_FAILED', `tc ${args.join(' ')} failed: ${r.stderr.trim()}`);
  }
}
