import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FarplayError } from '../../protocol/errors.js';
import {
  decodeInput,
  encodeInput,
  type InputMessage,
  KEY_CODES,
  keyCodeToId,
  keyIdToCode,
  MAX_INPUT_MESSAGE_BYTES,
} from '../../protocol/input.js';

function expectBadInput(data: unknown): void {
  let thrown: unknown;
  try {
    decodeInput(data);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(FarplayError);
  expect((thrown as FarplayError).code).toBe('EDGE_BAD_INPUT');
}

describe('input codec', () => {
  const samples: InputMessage[] = [
    { type: 'keyDown', seq: 1, key: keyCodeToId('ArrowLeft') },
    { type: 'keyUp', seq: 0xffff_ffff, key: keyCodeToId('Space') },
    { type: 'mouseMove', seq: 3, dx: -120, dy: 32767, x: 0, y: 1 },
    { type: 'mouseButton', seq: 4, button: 2, down: true },
    { type: 'wheel', seq: 5, dx: 0, dy: -300 },
    { type: 'gamepad', seq: 6, index: 1, buttons: 0x8000_4001, axes: [-1, 0, 0.5, 1] },
    { type: 'gamepad', seq: 7, index: 0, buttons: 0, axes: [] },
    { type: 'touch', seq: 8, id: 3, phase: 2, x: 0.25, y: 0.75 },
    { type: 'ping', seq: 9, t: 123456.789 },
    { type: 'pong', seq: 10, t: 0.5 },
  ];

  it('round-trips every message type', () => {
    for (const message of samples) {
      const bytes = encodeInput(message);
      expect(bytes.length).toBeLessThanOrEqual(MAX_INPUT_MESSAGE_BYTES);
      const decoded = decodeInput(bytes);
      expect(decoded.type).toBe(message.type);
      expect(decoded.seq).toBe(message.seq);
      if (message.type === 'mouseMove' && decoded.type === 'mouseMove') {
        expect(decoded.dx).toBe(message.dx);
        expect(decoded.x).toBeCloseTo(message.x, 4);
        expect(decoded.y).toBeCloseTo(message.y, 4);
      } else if (message.type === 'gamepad' && decoded.type === 'gamepad') {
        expect(decoded.buttons).toBe(message.buttons);
        expect(decoded.axes.length).toBe(message.axes.length);
        for (const [i, axis] of decoded.axes.entries()) expect(axis).toBeCloseTo(message.axes[i] ?? 0, 4);
      } else if (message.type === 'touch' && decoded.type === 'touch') {
        expect(decoded.x).toBeCloseTo(0.25, 4);
        expect(decoded.phase).toBe(2);
      } else {
        expect(decoded).toEqual(message);
      }
    }
  });

  it('decodes from an ArrayBuffer and encodes into a caller buffer without allocating', () => {
    const target = new Uint8Array(64);
    const view = encodeInput({ type: 'ping', seq: 42, t: 7 }, target);
    expect(view.buffer).toBe(target.buffer);
    const copy = view.slice().buffer;
    expect(decodeInput(copy)).toEqual({ type: 'ping', seq: 42, t: 7 });
  });

  it('maps KeyboardEvent.code to small ids and back', () => {
    for (const code of KEY_CODES) expect(keyIdToCode(keyCodeToId(code))).toBe(code);
    expect(keyCodeToId('NoSuchKey')).toBe(0);
    expect(keyIdToCode(0)).toBeUndefined();
    expect(keyIdToCode(255)).toBeUndefined();
  });

  it('rejects malformed messages with EDGE_BAD_INPUT', () => {
    expectBadInput('text');
    expectBadInput(null);
    expectBadInput({ length: 6 });
    expectBadInput(new Uint8Array(0));
    expectBadInput(new Uint8Array([1, 0, 0, 0]));
    expectBadInput(new Uint8Array(MAX_INPUT_MESSAGE_BYTES + 1));
    expectBadInput(new Uint8Array([0, 1, 0, 0, 0, 1])); // type 0
    expectBadInput(new Uint8Array([200, 1, 0, 0, 0, 1])); // unknown type
    expectBadInput(new Uint8Array([1, 1, 0, 0, 0, 0])); // key id 0
    expectBadInput(new Uint8Array([1, 1, 0, 0, 0, 250])); // unknown key id
    expectBadInput(new Uint8Array([1, 1, 0, 0, 0, 1, 9])); // trailing byte
    expectBadInput(new Uint8Array([4, 1, 0, 0, 0, 9, 1])); // button 9
    expectBadInput(new Uint8Array([6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9])); // 9 axes claimed
    expectBadInput(new Uint8Array([6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0])); // axes truncated
    const nan = new Uint8Array(13);
    nan[0] = 8;
    new DataView(nan.buffer).setFloat64(5, Number.NaN, true);
    expectBadInput(nan);
  });

  it('never throws anything but EDGE_BAD_INPUT on random bytes', () => {
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = randomBytes(1 + (i % 40));
      try {
        const message = decodeInput(bytes);
        valid++;
        // Whatever decodes must encode back to the same bytes' meaning.
        expect(decodeInput(encodeInput(message)).type).toBe(message.type);
      } catch (error) {
        expect(error).toBeInstanceOf(FarplayError);
        expect((error as FarplayError).code).toBe('EDGE_BAD_INPUT');
      }
    }
    expect(valid).toBeLessThan(20_000);
    // 20,000 cases take about a second on an idle machine; the bound is only there for a loaded CI runner.
  }, 60_000);
});
