import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetLabError } from './NetLabError.js';

const forwarderSource = join(dirname(fileURLToPath(import.meta.url)), 'forwarder.c');
let compiled: string | undefined;

/** Compiles the forwarder once per source hash into a cache dir under os.tmpdir(); returns its path. */
export function forwarderBinary(): string {
  if (compiled !== undefined) return compiled;
  const source = readFileSync(forwarderSource);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'farplay-netlab');
  const binary = join(dir, `forwarder-${hash}`);
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    const temporary = `${binary}.${process.pid}.tmp`;
    const r = spawnSync('cc', ['-O2', '-Wall', '-o', temporary, forwarderSource], { encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0) {
      throw new NetLabError(
        'NETLAB_SETUP_FAILED',
        `compiling the netlab forwarder failed: ${r.stderr ?? ''}`,
        {
          cause: r.error,
        },
      );
    }
    renameSync(temporary, binary); // atomic: parallel compilers race harmlessly
  }
  compiled = binary;
  return binary;
}
