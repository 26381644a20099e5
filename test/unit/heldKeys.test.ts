import { afterEach, describe, expect, it, vi } from 'vitest';
import { HeldKeys } from '../../edge/session/HeldKeys.js';
import { HeldKeyHeartbeat } from '../../protocol/HeldKeyHeartbeat.js';
import { HELD_KEY_RELEASE_MS, HELD_KEY_REPEAT_MS } from '../../protocol/input.js';

const down = (key: number, seq: number) => ({ type: 'keyDown' as const, key, seq });
const up = (key: number, seq: number) => ({ type: 'keyUp' as const, key, seq });

describe('HeldKeys (edge)', () => {
  it('passes a press, treats a repeated keyDown as a refresh, and releases a key whose refreshes stop', () => {
    const held = new HeldKeys(1000);
    expect(held.accept(down(5, 1), 0)).toBe('apply');
    expect(held.accept(down(5, 2), 250)).toBe('refresh');
    expect(held.accept(down(5, 3), 500)).toBe('refresh');
    expect(held.stale(1400)).toEqual([]);
    expect(held.stale(1500)).toEqual([5]);
    // Handed out once; a new press after that is a press again.
    expect(held.stale(5000)).toEqual([]);
    expect(held.accept(down(5, 4), 5000)).toBe('apply');
    expect(held.accept(up(5, 5), 5100)).toBe('apply');
    expect(held.size).toBe(0);
  });

  it('drops key messages older than the last one of that key (the channel is unordered)', () => {
    const held = new HeldKeys(1000);
    held.accept(down(7, 10), 0);
    expect(held.accept(up(7, 12), 10)).toBe('apply');
    // The refresh sent before the keyUp arrives after it: it must not press the key again.
    expect(held.accept(down(7, 11), 20)).toBe('stale');
    expect(held.size).toBe(0);
    // Other keys are not affected; sequence numbers wrap.
    expect(held.accept(down(8, 0xffff_fffe), 30)).toBe('apply');
    expect(held.accept(up(8, 1), 40)).toBe('apply');
    expect(held.accept(down(8, 0xffff_ffff), 50)).toBe('stale');
  });

  it('never lets a game see a key held longer than the release time without refreshes', () => {
    const held = new HeldKeys();
    held.accept(down(1, 1), 0);
    expect(held.stale(HELD_KEY_RELEASE_MS - 1)).toEqual([]);
    expect(held.stale(HELD_KEY_RELEASE_MS)).toEqual([1]);
  });
});

describe('HeldKeyHeartbeat (player)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('re-sends every held key each period until it is released, well inside the edge’s release time', () => {
    vi.useFakeTimers();
    const sent: number[] = [];
    const heartbeat = new HeldKeyHeartbeat((key) => sent.push(key));
    heartbeat.down(3);
    heartbeat.down(9);
    vi.advanceTimersByTime(HELD_KEY_REPEAT_MS * 2);
    expect(sent).toEqual([3, 9, 3, 9]);
    heartbeat.up(3);
    vi.advanceTimersByTime(HELD_KEY_REPEAT_MS);
    expect(sent.slice(4)).toEqual([9]);
    heartbeat.up(9);
    vi.advanceTimersByTime(HELD_KEY_REPEAT_MS * 4);
    expect(sent).toHaveLength(5);
    expect(vi.getTimerCount()).toBe(0);
    heartbeat.down(4);
    heartbeat.close();
    heartbeat.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(HELD_KEY_REPEAT_MS * 3).toBeLessThan(HELD_KEY_RELEASE_MS);
  });
});
