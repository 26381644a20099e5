import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpentTokens } from '../../edge/SpentTokens.js';

const dir = mkdtempSync(join(tmpdir(), 'farplay-spent-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SpentTokens file', () => {
  it('reads back what was spent, drops what expired, and compacts the file', () => {
    const file = join(dir, 'a', 'spent');
    const now = 1_000_000_000_000;
    const tokens = new SpentTokens({ file, marginMs: 1000, now });
    tokens.spend('live id', now / 1000 + 60, now);
    tokens.spend('gone', now / 1000 - 5, now);
    const later = new SpentTokens({ file, marginMs: 1000, now: now + 1 });
    expect(later.has('live id', now + 1)).toBe(true);
    expect(later.has('gone', now + 1)).toBe(false);
    expect(later.size).toBe(1);
    // The file was rewritten at start without the expired line.
    expect(readFileSync(file, 'utf8')).toBe(`live%20id ${now + 61_000}\n`);
    // Past its expiry (and margin), a token is forgotten at the next start.
    expect(new SpentTokens({ file, marginMs: 1000, now: now + 62_000 }).size).toBe(0);
  });
});
