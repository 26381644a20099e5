import { spawn } from 'node:child_process';
import { NetLabError } from './NetLabError.js';

/** Runs `ip <args> -batch -` with these lines on stdin; rejects with NETLAB_SETUP_FAILED on failure. */
export function ipBatch(args: readonly string[], lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', [...args, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new NetLabError('NETLAB_SETUP_FAILED', `ip ${args.join(' ')} -batch failed: ${stderr.trim()}`),
        );
    });
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}
