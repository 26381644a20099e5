import type { Logger } from 'pino';
import { FarplayError } from '../../protocol/errors.js';
import { type InputMessage, type KeyCode, keyIdToCode, TouchPhase } from '../../protocol/input.js';
import { X11Connection } from './X11Connection.js';
import { X11_KEYSYMS } from './x11Keysyms.js';

/** Gamepad → key bindings: 'button:<i>' or 'axis:<i>:-' / 'axis:<i>:+' to a KeyboardEvent.code. */
export type GamepadKeyMap = Readonly<Record<string, KeyCode>>;

/** Standard-layout gamepad as keys: d-pad and left stick → arrows, A → Enter, B → Escape, Start → Space. */
export const DEFAULT_GAMEPAD_KEYS: GamepadKeyMap = {
  'button:0': 'Enter',
  'button:1': 'Escape',
  'button:9': 'Space',
  'button:12': 'ArrowUp',
  'button:13': 'ArrowDown',
  'button:14': 'ArrowLeft',
  'button:15': 'ArrowRight',
  'axis:0:-': 'ArrowLeft',
  'axis:0:+': 'ArrowRight',
  'axis:1:-': 'ArrowUp',
  'axis:1:+': 'ArrowDown',
};

/** Options of `XTestInput.open`. */
export interface XTestInputOptions {
  /** The display's number (its socket is /tmp/.X11-unix/X<n>). */
  display: number;
  /** Gamepad bindings (default DEFAULT_GAMEPAD_KEYS); uinput gamepads are not used. */
  gamepadKeys?: GamepadKeyMap;
  /**
   * Held keys not re-pressed (a repeated keyDown) within this many ms are released, so a lost keyUp on the
   * unreliable channel cannot leave a key stuck. 0 (default) = off, for players that do not repeat held keys.
   */
  heldKeyTimeoutMs?: number;
  logger?: Logger;
}

const FAKE = { keyPress: 2, keyRelease: 3, buttonPress: 4, buttonRelease: 5, motion: 6 } as const;
// Player buttons (0 left, 1 middle, 2 right, 3 back, 4 forward) → X buttons.
const X_BUTTONS = [1, 2, 3, 8, 9];
const AXIS_THRESHOLD = 0.5;

/**
 * The player's input injected into the session's X display through the XTEST extension: keys by
 * KeyboardEvent.code (looked up by keysym in the server's keyboard map; a keysym the map lacks is bound
 * to a spare keycode), released with the keycode they were pressed with; mouse motion (absolute), buttons
 * and wheel; touch as the left button; gamepads as keys. One X connection for the session, no process
 * per event.
 */
export class XTestInput {
  readonly #x: X11Connection;
  readonly #opcode: number;
  readonly #options: XTestInputOptions;
  readonly #keycodes = new Map<number, number>();
  #keyMap: number[][] = [];
  #spare: number[] = [];
  readonly #held = new Map<number, { keycode: number; at: number }>();
  readonly #gamepadHeld = new Set<string>();
  readonly #timer: NodeJS.Timeout | undefined;
  #lastX = -1;
  #lastY = -1;
  #injected = 0;
  #closed = false;

  private constructor(x: X11Connection, opcode: number, options: XTestInputOptions) {
    this.#x = x;
    this.#opcode = opcode;
    this.#options = options;
    const timeout = options.heldKeyTimeoutMs ?? 0;
    if (timeout > 0) {
      this.#timer = setInterval(() => this.#releaseStale(timeout), Math.max(50, timeout / 4));
      this.#timer.unref();
    }
  }

  /** Connects to the display and reads its keyboard map. Throws EDGE_GAME_UNSUPPORTED without XTEST. */
  static async open(options: XTestInputOptions): Promise<XTestInput> {
    const x = await X11Connection.open(options.display);
    try {
      const opcode = await x.queryExtension('XTEST');
      if (opcode === null)
        throw new FarplayError('EDGE_GAME_UNSUPPORTED', 'the X server has no XTEST extension');
      const input = new XTestInput(x, opcode, options);
      await input.#readKeyboardMap();
      return input;
    } catch (error) {
      x.close();
      throw error;
    }
  }

  /** Events injected so far. */
  get injected(): number {
    return this.#injected;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Applies one input message from the player. */
  input(message: InputMessage): void {
    if (this.#closed) return;
    switch (message.type) {
      case 'keyDown': {
        const code = keyIdToCode(message.key);
        if (code) this.#key(code, true, message.key);
        break;
      }
      case 'keyUp': {
        const code = keyIdToCode(message.key);
        if (code) this.#key(code, false, message.key);
        break;
      }
      case 'mouseMove':
        this.#move(message.x, message.y);
        break;
      case 'mouseButton': {
        const button = X_BUTTONS[message.button];
        if (button) this.#fake(message.down ? FAKE.buttonPress : FAKE.buttonRelease, button);
        break;
      }
      case 'wheel':
        this.#wheel(message.dy, 4, 5);
        this.#wheel(message.dx, 6, 7);
        break;
      case 'touch':
        this.#move(message.x, message.y);
        if (message.phase === TouchPhase.start) this.#fake(FAKE.buttonPress, 1);
        else if (message.phase === TouchPhase.end || message.phase === TouchPhase.cancel) {
          this.#fake(FAKE.buttonRelease, 1);
        }
        break;
      case 'gamepad':
        this.#gamepad(message.buttons, message.axes);
        break;
      default:
        break;
    }
  }

  /** Releases every held key (e.g. when the player's page loses focus). */
  releaseAll(): void {
    for (const [id, { keycode }] of this.#held) {
      this.#fake(FAKE.keyRelease, keycode);
      this.#held.delete(id);
    }
    this.#gamepadHeld.clear();
  }

  #key(code: KeyCode, down: boolean, id: number): void {
    if (!down) {
      const held = this.#held.get(id);
      if (!held) return;
      this.#held.delete(id);
      this.#fake(FAKE.keyRelease, held.keycode);
      return;
    }
    const held = this.#held.get(id);
    if (held) {
      held.at = Date.now();
      return;
    }
    const keycode = this.#keycodeFor(code);
    if (keycode === undefined || this.#closed) return;
    this.#held.set(id, { keycode, at: Date.now() });
    this.#fake(FAKE.keyPress, keycode);
  }

  #keycodeFor(code: KeyCode): number | undefined {
    const keysym = X11_KEYSYMS[code];
    const known = this.#keycodes.get(keysym);
    if (known !== undefined) return known;
    const spare = this.#spare.pop();
    if (spare === undefined) return undefined;
    // The layout lacks this keysym: bind it to a spare keycode (every column, so modifiers do not matter).
    const per = this.#keyMap[0]?.length ?? 2;
    const request = Buffer.alloc(8 + per * 4);
    request[0] = 100;
    request[1] = 1;
    request.writeUInt16LE(2 + per, 2);
    request[4] = spare;
    request[5] = per;
    for (let i = 0; i < per; i++) request.writeUInt32LE(i < 2 ? keysym : 0, 8 + i * 4);
    this.#x.send(request);
    this.#keycodes.set(keysym, spare);
    return spare;
  }

  async #readKeyboardMap(): Promise<void> {
    const { minKeycode, maxKeycode } = this.#x.info;
    const count = maxKeycode - minKeycode + 1;
    const request = Buffer.alloc(8);
    request[0] = 101;
    request.writeUInt16LE(2, 2);
    request[4] = minKeycode;
    request[5] = count;
    const reply = await this.#x.request(request);
    const per = reply[1] ?? 0;
    this.#keyMap = [];
    for (let k = 0; k < count; k++) {
      const syms: number[] = [];
      for (let c = 0; c < per; c++) syms.push(reply.readUInt32LE(32 + (k * per + c) * 4));
      this.#keyMap.push(syms);
    }
    // Prefer the unshifted column: a keysym found there wins over one reached with a modifier.
    for (let column = per - 1; column >= 0; column--) {
      this.#keyMap.forEach((syms, k) => {
        const sym = syms[column];
        if (sym) this.#keycodes.set(sym, minKeycode + k);
      });
    }
    this.#spare = this.#keyMap
      .map((syms, k) => (syms.every((s) => s === 0) ? minKeycode + k : -1))
      .filter((k) => k >= 8);
  }

  #move(x: number, y: number): void {
    const px = Math.round(Math.min(1, Math.max(0, x)) * (this.#x.info.width - 1));
    const py = Math.round(Math.min(1, Math.max(0, y)) * (this.#x.info.height - 1));
    if (px === this.#lastX && py === this.#lastY) return;
    this.#lastX = px;
    this.#lastY = py;
    this.#fake(FAKE.motion, 0, px, py);
  }

  #wheel(delta: number, negative: number, positive: number): void {
    if (delta === 0) return;
    const steps = Math.min(10, Math.max(1, Math.round(Math.abs(delta) / 100)));
    const button = delta < 0 ? negative : positive;
    for (let i = 0; i < steps; i++) {
      this.#fake(FAKE.buttonPress, button);
      this.#fake(FAKE.buttonRelease, button);
    }
  }

  #gamepad(buttons: number, axes: number[]): void {
    const map = this.#options.gamepadKeys ?? DEFAULT_GAMEPAD_KEYS;
    const active = new Set<string>();
    for (let i = 0; i < 32; i++) if ((buttons >>> i) & 1) active.add(`button:${i}`);
    axes.forEach((value, i) => {
      if (value <= -AXIS_THRESHOLD) active.add(`axis:${i}:-`);
      else if (value >= AXIS_THRESHOLD) active.add(`axis:${i}:+`);
    });
    for (const [binding, code] of Object.entries(map)) {
      const on = active.has(binding);
      if (on === this.#gamepadHeld.has(binding)) continue;
      if (on) this.#gamepadHeld.add(binding);
      else this.#gamepadHeld.delete(binding);
      // Gamepad keys use ids above the keyboard's (256 + …) so they never release a keyboard key.
      this.#key(code, on, 256 + Object.keys(map).indexOf(binding));
    }
  }

  #releaseStale(timeoutMs: number): void {
    const now = Date.now();
    for (const [id, held] of this.#held) {
      if (id >= 256 || now - held.at < timeoutMs) continue;
      this.#held.delete(id);
      this.#fake(FAKE.keyRelease, held.keycode);
      this.#options.logger?.debug({ keycode: held.keycode }, 'released a key whose release never came');
    }
  }

  #fake(type: number, detail: number, x = 0, y = 0): void {
    const request = Buffer.alloc(36);
    request[0] = this.#opcode;
    request[1] = 2; // XTestFakeInput
    request.writeUInt16LE(9, 2);
    request[4] = type;
    request[5] = detail;
    request.writeUInt32LE(0, 8); // CurrentTime
    request.writeUInt32LE(type === FAKE.motion ? this.#x.info.root : 0, 12);
    request.writeInt16LE(x, 24);
    request.writeInt16LE(y, 26);
    this.#x.send(request);
    this.#injected++;
  }

  /** Releases held keys and closes the X connection; idempotent. */
  close(): void {
    if (this.#closed) return;
    if (!this.#x.closed) this.releaseAll();
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#x.close();
  }
}
