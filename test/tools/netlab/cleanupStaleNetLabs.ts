import { readdirSync } from 'node:fs';
import { pidAlive } from './pidAlive.js';
import { removeNetns } from './removeNetns.js';

function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/**
 * Removes namespaces `<prefix>-<pid>-…` whose creating process is gone (a crashed run), killing what
 * still runs inside them. Their TAPs vanished with their forwarder. Returns the names removed.
 */
export function cleanupStaleNetLabs(prefix = 'fpnl'): string[] {
  const pattern = new RegExp(`^${prefix}-(\\d+)-`);
  const removed: string[] = [];
  for (const netns of listNetns()) {
    const m = pattern.exec(netns);
    if (m === null || pidAlive(Number(m[1]))) continue;
    removeNetns(netns);
    removed.push(netns);
  }
  return removed;
}
