import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RedisClusterNode } from '../../matchmaker/store/createRedisStore.js';

const run = promisify(execFile);

/** A real Redis Cluster on loopback that a test started: its nodes, and `stop()` that ends it. */
export interface LocalRedisCluster {
  nodes: RedisClusterNode[];
  stop(): Promise<void>;
}

async function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` ports from `from` on where both the port and its cluster bus port (port + 10000) are free: another
 * engineer's cluster (or anything else) on the machine is stepped over.
 */
async function clusterPorts(count: number, from: number): Promise<number[]> {
  const ports: number[] = [];
  for (let port = from; ports.length < count && port < from + 2000; port++) {
    if ((await bindable(port)) && (await bindable(port + 10_000))) ports.push(port);
  }
  if (ports.length < count) throw new Error(`no ${count} free Redis Cluster ports from ${from}`);
  return ports;
}

/**
 * Starts a Redis Cluster of `masters` (default 3) Debian redis-server processes in cluster mode on loopback
 * (from port 7101 on, each with its own temporary directory, nothing persisted), joins them with
 * `redis-cli --cluster create … --cluster-yes` and waits until every node says `cluster_state:ok`.
 * `stop()` ends those processes and removes their directories. Needs redis-server and redis-cli (.ci/run).
 */
export async function startRedisCluster(masters = 3, firstPort = 7101): Promise<LocalRedisCluster> {
  const ports = await clusterPorts(masters, firstPort);
  const dir = await mkdtemp(join(tmpdir(), 'farplay-redis-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
    }
    for (const port of ports)
      await waitFor(
        () => cli(port, 'ping'),
        (out) => out === 'PONG',
      );
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports) {
      await waitFor(
        () => cli(port, 'cluster', 'info'),
        (out) => out.includes('cluster_state:ok'),
      );
    }
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])).stdout.trim();
  } catch {
    return '';
  }
}

async function waitFor(read: () => Promise<string>, done: (out: string) => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (done(await read())) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the local Redis Cluster did not come up in 30 s');
}
