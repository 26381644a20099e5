import { FarplayError } from './errors.js';

/**
 * The binary codec of the input data channel (player ↔ edge).
 *
 * The channel: label `INPUT_CHANNEL.label`, negotiated on both sides with id 0, unordered, no
 * retransmits (`INPUT_CHANNEL` is the exact RTCDataChannelInit to pass). One message per SCTP message,
 * little-endian, layout `[type u8][seq u32][payload]`:
 *
 * | type | name        | payload                                                                     |
 * | ---- | ----------- | --------------------------------------------------------------------------- |
 * | 1    | keyDown     | key u8 (see `KEY_CODES`)                                                     |
 * | 2    | keyUp       | key u8                                                                      |
 * | 3    | mouseMove   | dx i16, dy i16 (relative px), x u16, y u16 (absolute, 0..65535 = 0..1)       |
 * | 4    | mouseButton | button u8 (0 left, 1 middle, 2 right, 3 back, 4 forward), down u8 (0/1)     |
 * | 5    | wheel       | dx i16, dy i16 (px)                                                          |
 * | 6    | gamepad     | index u8, buttons u32 (bit i = button i pressed), count u8 (≤ 8), axes i16×n |
 * | 7    | touch       | id u8, phase u8 (0 start, 1 move, 2 end, 3 cancel), x u16, y u16 (0..65535)  |
 * | 8    | ping        | t f64 (sender's clock, ms)                                                   |
 * | 9    | pong        | t f64 (the ping's t, echoed by the edge at once with the ping's seq)         |
 *
 * `seq` increases by one per message sent (wrapping at 2^32); the edge reports the last applied `seq`
 * in every frame's stamp (protocol/frameStamp.ts), so the player can measure input-to-photon time.
 *
 * Held keys: the channel may lose a keyUp, so a player re-sends keyDown for every key it holds every
 * `HELD_KEY_REPEAT_MS` (`HeldKeyHeartbeat`). The edge treats a keyDown of a key already down as that
 * refresh (never a second press) and releases a key not refreshed within `HELD_KEY_RELEASE_MS`.
 * `decodeInput` rejects anything else with FarplayError `EDGE_BAD_INPUT` and never throws otherwise.
 */

/** RTCDataChannelInit of the input channel; both sides create it with exactly these options. */
export const INPUT_CHANNEL = {
  label: 'input',
  init: { negotiated: true, id: 0, ordered: false, maxRetransmits: 0 },
} as const;

/** How often a player re-sends keyDown for each key it holds, ms. */
export const HELD_KEY_REPEAT_MS = 250;
/** The edge releases a held key not refreshed for this long, ms (four refreshes lost in a row). */
export const HELD_KEY_RELEASE_MS = 1000;

/** Largest valid input message in bytes. */
export const MAX_INPUT_MESSAGE_BYTES = 1 + 4 + 1 + 4 + 1 + 8 * 2;

export const InputType = {
  keyDown: 1,
  keyUp: 2,
  mouseMove: 3,
  mouseButton: 4,
  wheel: 5,
  gamepad: 6,
  touch: 7,
  ping: 8,
  pong: 9,
} as const;
export type InputTypeName = keyof typeof InputType;

export const TouchPhase = { start: 0, move: 1, end: 2, cancel: 3 } as const;
export type TouchPhase = (typeof TouchPhase)[keyof typeof TouchPhase];

/** Maximum gamepad axes carried per message. */
export const MAX_GAMEPAD_AXES = 8;

export type InputMessage =
  | { type: 'keyDown'; seq: number; key: number }
  | { type: 'keyUp'; seq: number; key: number }
  | { type: 'mouseMove'; seq: number; dx: number; dy: number; x: number; y: number }
  | { type: 'mouseButton'; seq: number; button: number; down: boolean }
  | { type: 'wheel'; seq: number; dx: number; dy: number }
  | { type: 'gamepad'; seq: number; index: number; buttons: number; axes: number[] }
  | { type: 'touch'; seq: number; id: number; phase: TouchPhase; x: number; y: number }
  | { type: 'ping'; seq: number; t: number }
  | { type: 'pong'; seq: number; t: number };

/**
 * KeyboardEvent.code values carried on the wire; a key's id is its index + 1 (0 = unknown, never sent).
 * Append only: ids are part of the wire format.
 */
export const KEY_CODES = [
  'Escape',
  'Digit1',
  'Digit2',
  'Digit3',
  'Digit4',
  'Digit5',
  'Digit6',
  'Digit7',
  'Digit8',
  'Digit9',
  'Digit0',
  'Minus',
  'Equal',
  'Backspace',
  'Tab',
  'KeyQ',
  'KeyW',
  'KeyE',
  'KeyR',
  'KeyT',
  'KeyY',
  'KeyU',
  'KeyI',
  'KeyO',
  'KeyP',
  'BracketLeft',
  'BracketRight',
  'Enter',
  'ControlLeft',
  'KeyA',
  'KeyS',
  'KeyD',
  'KeyF',
  'KeyG',
  'KeyH',
  'KeyJ',
  'KeyK',
  'KeyL',
  'Semicolon',
  'Quote',
  'Backquote',
  'ShiftLeft',
  'Backslash',
  'KeyZ',
  'KeyX',
  'KeyC',
  'KeyV',
  'KeyB',
  'KeyN',
  'KeyM',
  'Comma',
  'Period',
  'Slash',
  'ShiftRight',
  'NumpadMultiply',
  'AltLeft',
  'Space',
  'CapsLock',
  'F1',
  'F2',
  'F3',
  'F4',
  'F5',
  'F6',
  'F7',
  'F8',
  'F9',
  'F10',
  'F11',
  'F12',
  'Numpad0',
  'Numpad1',
  'Numpad2',
  'Numpad3',
  'Numpad4',
  'Numpad5',
  'Numpad6',
  'Numpad7',
  'Numpad8',
  'Numpad9',
  'NumpadSubtract',
  'NumpadAdd',
  'NumpadDecimal',
  'NumpadEnter',
  'NumpadDivide',
  'ControlRight',
  'AltRight',
  'Home',
  'End',
  'PageUp',
  'PageDown',
  'Insert',
  'Delete',
  'ArrowUp',
  'ArrowDown',
  'ArrowLeft',
  'ArrowRight',
  'MetaLeft',
  'MetaRight',
  'ContextMenu',
  'Pause',
  'PrintScreen',
  'ScrollLock',
  'NumLock',
  'IntlBackslash',
] as const;
export type KeyCode = (typeof KEY_CODES)[number];

const KEY_IDS: ReadonlyMap<string, number> = new Map(KEY_CODES.map((code, index) => [code, index + 1]));

/** The wire id of a KeyboardEvent.code, or 0 when the code is not carried. */
export function keyCodeToId(code: string): number {
  return KEY_IDS.get(code) ?? 0;
}

/** The KeyboardEvent.code of a wire id, or undefined for an unknown id. */
export function keyIdToCode(id: number): KeyCode | undefined {
  return id >= 1 ? KEY_CODES[id - 1] : undefined;
}

/** Normalized 0..1 → u16 (clamped). */
export function toUnit16(value: number): number {
  if (!(value > 0)) return 0;
  if (value >= 1) return 65535;
  return Math.round(value * 65535);
}

/** Gamepad axis -1..1 → i16 (clamped). */
export function axisToInt16(value: number): number {
  if (!(value > -1)) return -32767;
  if (value >= 1) return 32767;
  return Math.round(value * 32767);
}

function clampI16(value: number): number {
  if (!(value > -32768)) return -32768;
  if (value >= 32767) return 32767;
  return Math.round(value);
}

/** Byte length of `message` on the wire. */
export function inputMessageLength(message: InputMessage): number {
  switch (message.type) {
    case 'keyDown':
    case 'keyUp':
      return 6;
    case 'mouseMove':
      return 13;
    case 'mouseButton':
      return 7;
    case 'wheel':
      return 9;
    case 'gamepad':
      return 11 + 2 * Math.min(message.axes.length, MAX_GAMEPAD_AXES);
    case 'touch':
      return 11;
    case 'ping':
    case 'pong':
      return 13;
  }
}

/**
 * Encodes `message` into `target` (default: a new Uint8Array of the exact length) and returns the
 * bytes written as a view. Values out of range are clamped; axes beyond MAX_GAMEPAD_AXES are dropped.
 */
export function encodeInput(message: InputMessage, target?: Uint8Array): Uint8Array {
  const length = inputMessageLength(message);
  const bytes = target ?? new Uint8Array(length);
  if (bytes.length < length) throw new RangeError('input target buffer too small');
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  view.setUint8(0, InputType[message.type]);
  view.setUint32(1, message.seq >>> 0, true);
  switch (message.type) {
    case 'keyDown':
    case 'keyUp':
      view.setUint8(5, message.key & 0xff);
      break;
    case 'mouseMove':
      view.setInt16(5, clampI16(message.dx), true);
      view.setInt16(7, clampI16(message.dy), true);
      view.setUint16(9, toUnit16(message.x), true);
      view.setUint16(11, toUnit16(message.y), true);
      break;
    case 'mouseButton':
      view.setUint8(5, message.button & 0xff);
      view.setUint8(6, message.down ? 1 : 0);
      break;
    case 'wheel':
      view.setInt16(5, clampI16(message.dx), true);
      view.setInt16(7, clampI16(message.dy), true);
      break;
    case 'gamepad': {
      const count = Math.min(message.axes.length, MAX_GAMEPAD_AXES);
      view.setUint8(5, message.index & 0xff);
      view.setUint32(6, message.buttons >>> 0, true);
      view.setUint8(10, count);
      for (let i = 0; i < count; i++) view.setInt16(11 + 2 * i, axisToInt16(message.axes[i] ?? 0), true);
      break;
    }
    case 'touch':
      view.setUint8(5, message.id & 0xff);
      view.setUint8(6, message.phase);
      view.setUint16(7, toUnit16(message.x), true);
      view.setUint16(9, toUnit16(message.y), true);
      break;
    case 'ping':
    case 'pong':
      view.setFloat64(5, message.t, true);
      break;
  }
  return length === bytes.length ? bytes : bytes.subarray(0, length);
}

function bad(reason: string): FarplayError {
  return new FarplayError('EDGE_BAD_INPUT', `bad input message: ${reason}`);
}

/**
 * Decodes one input message. `x`/`y` come back normalized 0..1, axes -1..1.
 * Throws FarplayError `EDGE_BAD_INPUT` for anything malformed (and never any other error).
 */
export function decodeInput(data: unknown): InputMessage {
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else throw bad('not binary');
  const length = bytes.length;
  if (length < 5) throw bad('too short');
  if (length > MAX_INPUT_MESSAGE_BYTES) throw bad('too long');
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  const type = view.getUint8(0);
  const seq = view.getUint32(1, true);
  switch (type) {
    case InputType.keyDown:
    case InputType.keyUp: {
      if (length !== 6) throw bad('key length');
      const key = view.getUint8(5);
      if (key === 0 || key > KEY_CODES.length) throw bad('unknown key');
      return { type: type === InputType.keyDown ? 'keyDown' : 'keyUp', seq, key };
    }
    case InputType.mouseMove:
      if (length !== 13) throw bad('mouseMove length');
      return {
        type: 'mouseMove',
        seq,
        dx: view.getInt16(5, true),
        dy: view.getInt16(7, true),
        x: view.getUint16(9, true) / 65535,
        y: view.getUint16(11, true) / 65535,
      };
    case InputType.mouseButton: {
      if (length !== 7) throw bad('mouseButton length');
      const button = view.getUint8(5);
      const down = view.getUint8(6);
      if (button > 4 || down > 1) throw bad('mouseButton value');
      return { type: 'mouseButton', seq, button, down: down === 1 };
    }
    case InputType.wheel:
      if (length !== 9) throw bad('wheel length');
      return { type: 'wheel', seq, dx: view.getInt16(5, true), dy: view.getInt16(7, true) };
    case InputType.gamepad: {
      if (length < 11) throw bad('gamepad length');
      const count = view.getUint8(10);
      if (count > MAX_GAMEPAD_AXES || length !== 11 + 2 * count) throw bad('gamepad axes');
      const index = view.getUint8(5);
      if (index > 3) throw bad('gamepad index');
      const axes: number[] = [];
      for (let i = 0; i < count; i++) axes.push(Math.max(-1, view.getInt16(11 + 2 * i, true) / 32767));
      return { type: 'gamepad', seq, index, buttons: view.getUint32(6, true), axes };
    }
    case InputType.touch: {
      if (length !== 11) throw bad('touch length');
      const phase = view.getUint8(6);
      if (phase > 3) throw bad('touch phase');
      return {
        type: 'touch',
        seq,
        id: view.getUint8(5),
        phase: phase as TouchPhase,
        x: view.getUint16(7, true) / 65535,
        y: view.getUint16(9, true) / 65535,
      };
    }
    case InputType.ping:
    case InputType.pong: {
      if (length !== 13) throw bad('ping length');
      const t = view.getFloat64(5, true);
      if (!Number.isFinite(t)) throw bad('ping time');
      return { type: type === InputType.ping ? 'ping' : 'pong', seq, t };
    }
    default:
      throw bad('unknown type');
  }
}
