import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';

type Events = { ended: [reason: string, code: number]; tick: [] };

describe('TypedEmitter', () => {
  it('a throwing or rejecting listener never reaches the emitter, and the others still run', async () => {
    const errors: string[] = [];
    const emitter = new TypedEmitter<Events>({
      onListenerError: (error, event) => errors.push(`${event}:${String(error)}`),
    });
    const seen: string[] = [];
    emitter.on('ended', () => {
      throw new Error('boom');
    });
    emitter.on('ended', async () => {
      throw new Error('later');
    });
    emitter.on('ended', (reason, code) => {
      seen.push(`${reason}/${code}`);
    });
    expect(() => emitter.emit('ended', 'bye', 1000)).not.toThrow();
    await Promise.resolve();
    await Promise.resolve();
    expect(seen).toEqual(['bye/1000']);
    expect(errors).toEqual(['ended:Error: boom', 'ended:Error: later']);
  });

  it('on() returns an unsubscribe; once() fires once; next() resolves with the arguments', async () => {
    const emitter = new TypedEmitter<Events>();
    let ticks = 0;
    const off = emitter.on('tick', () => {
      ticks++;
    });
    let onceTicks = 0;
    emitter.once('tick', () => {
      onceTicks++;
    });
    emitter.emit('tick');
    off();
    emitter.emit('tick');
    expect([ticks, onceTicks, emitter.listenerCount('tick')]).toEqual([1, 1, 0]);
    const next = emitter.next('ended');
    emitter.emit('ended', 'done', 4000);
    await expect(next).resolves.toEqual(['done', 4000]);
  });
});
