import { spawnSync } from 'node:child_process';

function killNetnsPids(netns: string): void {
  const r = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const pid = Number(line.trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Kills every process still inside a network namespace, then deletes the namespace (synchronously). */
export function removeNetns(netns: string): void {
  killNetnsPids(netns);
  spawnSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
}
