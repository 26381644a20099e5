import { HeldKeyHeartbeat } from '../../protocol/HeldKeyHeartbeat.js';
import { keyCodeToId, MAX_GAMEPAD_AXES, TouchPhase } from '../../protocol/input.js';
import type { OutgoingInput } from './PlaySession.js';

/** Sends one input message; returns its sequence number (0 when not sent). */
export type SendInput = (message: OutgoingInput) => number;

/** Options of an InputController. */
export interface InputControllerOptions {
  /** The element that takes mouse and touch input and gets pointer lock (the play stage). */
  surface: HTMLElement;
  /** The <video>; mouse and touch positions are normalized to its displayed picture. */
  video: HTMLVideoElement;
  send: SendInput;
  /** Lock the pointer on click (games that read the mouse). Default true. */
  pointerLock?: boolean;
  /** Called after every key press sent (seq of the keyDown), e.g. to time input-to-photon. */
  onKeySent?: (code: string, seq: number) => void;
  /** Escape pressed with neither pointer lock nor fullscreen to leave (the play view leaves). */
  onEscape?: () => void;
}

/** Keys whose browser default (scrolling, focus moves) would disturb play. */
const SWALLOW = new Set(['Space', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Tab', 'Backspace']);

/** Focused elements that take their own keys (a bar button, the bitrate list, an overlay action). */
const CONTROLS = 'button, select, input, textarea, a[href], [contenteditable]';

/**
 * An Escape this soon (ms) after the browser itself ended pointer lock or fullscreen is the press it
 * used to end them, not a second press: it does not leave the view.
 */
const ESCAPE_GRACE_MS = 250;

/** How often a held gamepad state is re-sent, ms: the channel is unreliable, so state is repeated. */
const GAMEPAD_REPEAT_MS = 250;
/**
 * With no gamepad connected, how often `getGamepads()` is looked at, ms. Only a connected pad is polled
 * every animation frame: a pending requestAnimationFrame makes the page's main thread run a rendering
 * update every display frame, work that key, mouse and data-channel events would queue behind.
 */
const GAMEPAD_LOOKUP_MS = 250;

/**
 * Captures keyboard, mouse (with pointer lock), wheel, gamepad (polled each animation frame while one
 * is connected) and touch, and sends them as input messages (protocol/input.ts). While a key is held
 * its keyDown is re-sent every HELD_KEY_REPEAT_MS, so a keyUp lost on the unreliable channel cannot
 * leave it stuck on the edge. Keys held when the page loses focus are released. `close()` removes
 * every listener (idempotent).
 *
 * Keys go to the game unless a control has the keyboard focus (its keys are its own: Enter and Space
 * press a bar button). Two keys are the page's: Escape leaves pointer lock, else fullscreen, else the
 * play view (`onEscape`), and is never sent; Tab moves the focus as on any page unless the input is
 * captured (pointer lock or fullscreen), where it goes to the game.
 */
export class InputController {
  readonly #options: InputControllerOptions;
  readonly #pressed = new Set<string>();
  readonly #heartbeat: HeldKeyHeartbeat;
  readonly #gamepads = new Map<number, { buttons: number; axes: number[]; sentAt: number }>();
  readonly #removers: (() => void)[] = [];
  #frame: number | undefined;
  /** When the browser last ended pointer lock or fullscreen by itself (performance.now()). */
  #captureEndedAt = Number.NEGATIVE_INFINITY;
  /** This controller asked to leave pointer lock or fullscreen (on Escape). */
  #releasing = false;
  #lookupTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: InputControllerOptions) {
    this.#options = options;
    this.#heartbeat = new HeldKeyHeartbeat((key) => options.send({ type: 'keyDown', key }));
    const { surface } = options;
    this.#listen(window, 'keydown', (event) => this.#onKey(event as KeyboardEvent, true));
    this.#listen(window, 'keyup', (event) => this.#onKey(event as KeyboardEvent, false));
    this.#listen(window, 'blur', () => this.releaseAll());
    for (const type of ['pointerlockchange', 'fullscreenchange']) {
      this.#listen(document, type, () => {
        if (this.#captured()) return;
        if (!this.#releasing) this.#captureEndedAt = performance.now();
        this.#releasing = false;
      });
    }
    this.#listen(document, 'visibilitychange', () => {
      if (document.hidden) this.releaseAll();
    });
    this.#listen(surface, 'mousedown', (event) => this.#onMouseButton(event as MouseEvent, true));
    this.#listen(surface, 'mouseup', (event) => this.#onMouseButton(event as MouseEvent, false));
    this.#listen(surface, 'mousemove', (event) => this.#onMouseMove(event as MouseEvent));
    this.#listen(surface, 'contextmenu', (event) => event.preventDefault());
    this.#listen(
      surface,
      'wheel',
      (event) => {
        const wheel = event as WheelEvent;
        wheel.preventDefault();
        options.send({ type: 'wheel', dx: wheel.deltaX, dy: wheel.deltaY });
      },
      { passive: false },
    );
    for (const type of ['touchstart', 'touchmove', 'touchend', 'touchcancel'] as const) {
      this.#listen(surface, type, (event) => this.#onTouch(event as TouchEvent), { passive: false });
    }
    this.#listen(window, 'gamepadconnected', () => {
      if (this.#lookupTimer === undefined) return;
      clearTimeout(this.#lookupTimer);
      this.#lookupTimer = undefined;
      this.#pollGamepads();
    });
    this.#pollGamepads();
  }

  /** Presses (and, unless `hold`, releases) a key by its KeyboardEvent.code; returns the keyDown seq. */
  pressKey(code: string, hold = false): number {
    const key = keyCodeToId(code);
    if (key === 0) return 0;
    const seq = this.#options.send({ type: 'keyDown', key });
    if (seq !== 0) this.#options.onKeySent?.(code, seq);
    if (hold) {
      this.#pressed.add(code);
      this.#heartbeat.down(key);
    } else this.#options.send({ type: 'keyUp', key });
    return seq;
  }

  /** Releases a key pressed with `pressKey(code, true)` or held on the keyboard. */
  releaseKey(code: string): void {
    const key = keyCodeToId(code);
    if (key === 0) return;
    this.#pressed.delete(code);
    this.#heartbeat.up(key);
    this.#options.send({ type: 'keyUp', key });
  }

  /** Releases every held key (focus lost, session paused). */
  releaseAll(): void {
    for (const code of [...this.#pressed]) this.releaseKey(code);
  }

  /** Removes all listeners and releases held keys (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.releaseAll();
    this.#heartbeat.close();
    this.#closed = true;
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    clearTimeout(this.#lookupTimer);
    for (const remove of this.#removers.splice(0)) remove();
    if (document.pointerLockElement === this.#options.surface) document.exitPointerLock();
  }

  #listen(
    target: EventTarget,
    type: string,
    listener: (event: Event) => void,
    options: AddEventListenerOptions = {},
  ): void {
    target.addEventListener(type, listener, options);
    this.#removers.push(() => target.removeEventListener(type, listener, options));
  }

  /** Pointer lock on the surface, or fullscreen: the player gave the game the input. */
  #captured(): boolean {
    return document.pointerLockElement === this.#options.surface || document.fullscreenElement !== null;
  }

  #onKey(event: KeyboardEvent, down: boolean): void {
    if (!down) {
      // Only keys pressed here come up, wherever the focus went meanwhile (the Enter that started the
      // game from the catalogue comes up here too, and is not the game's).
      if (!this.#pressed.has(event.code)) return;
      if (SWALLOW.has(event.code)) event.preventDefault();
      this.releaseKey(event.code);
      return;
    }
    const target = event.target instanceof Element ? event.target : null;
    if (target !== null && ['INPUT', 'TEXTAREA'].includes(target.tagName)) return;
    if (event.code === 'Escape') {
      this.#onEscape(event);
      return;
    }
    if (target?.closest(CONTROLS) && !target.closest('.touch-controls')) return;
    if (event.code === 'F11' || (event.ctrlKey && event.code === 'KeyR')) return;
    if (event.code === 'Tab' && !this.#captured()) return;
    const key = keyCodeToId(event.code);
    if (key === 0) return;
    if (SWALLOW.has(event.code)) event.preventDefault();
    if (event.repeat || this.#pressed.has(event.code)) return;
    this.#pressed.add(event.code);
    this.#heartbeat.down(key);
    const seq = this.#options.send({ type: 'keyDown', key });
    if (seq !== 0) this.#options.onKeySent?.(event.code, seq);
  }

  /** Escape leaves pointer lock, else fullscreen, else the view (browsers want it to free the input). */
  #onEscape(event: KeyboardEvent): void {
    if (event.repeat) return;
    if (document.pointerLockElement === this.#options.surface) {
      event.preventDefault();
      this.#releasing = true;
      document.exitPointerLock();
    } else if (document.fullscreenElement !== null) {
      event.preventDefault();
      this.#releasing = true;
      document.exitFullscreen().catch(() => {});
    } else if (performance.now() - this.#captureEndedAt >= ESCAPE_GRACE_MS) {
      event.preventDefault();
      this.#options.onEscape?.();
    }
  }

  /** Normalized position (0..1) of a client point on the displayed picture (letterboxing removed). */
  #normalize(clientX: number, clientY: number): { x: number; y: number } {
    const { video } = this.#options;
    const rect = video.getBoundingClientRect();
    const vw = video.videoWidth || rect.width;
    const vh = video.videoHeight || rect.height;
    const scale = Math.min(rect.width / vw, rect.height / vh) || 1;
    const width = vw * scale;
    const height = vh * scale;
    const left = rect.left + (rect.width - width) / 2;
    const top = rect.top + (rect.height - height) / 2;
    return {
      x: Math.min(1, Math.max(0, (clientX - left) / width)),
      y: Math.min(1, Math.max(0, (clientY - top) / height)),
    };
  }

  #onMouseButton(event: MouseEvent, down: boolean): void {
    if ((event.target as HTMLElement | null)?.closest('button, .touch-controls') != null) return;
    const { surface } = this.#options;
    if (
      down &&
      (this.#options.pointerLock ?? true) &&
      document.pointerLockElement !== surface &&
      'requestPointerLock' in surface
    ) {
      // The click that asks for the lock also reaches the game.
      Promise.resolve(surface.requestPointerLock()).catch(() => {});
    }
    if (event.button > 4) return;
    this.#options.send({ type: 'mouseButton', button: event.button, down });
  }

  #onMouseMove(event: MouseEvent): void {
    const { x, y } = this.#normalize(event.clientX, event.clientY);
    this.#options.send({ type: 'mouseMove', dx: event.movementX, dy: event.movementY, x, y });
  }

  #onTouch(event: TouchEvent): void {
    if ((event.target as HTMLElement | null)?.closest('.touch-controls, button') != null) return;
    event.preventDefault();
    const phase =
      event.type === 'touchstart'
        ? TouchPhase.start
        : event.type === 'touchmove'
          ? TouchPhase.move
          : event.type === 'touchend'
            ? TouchPhase.end
            : TouchPhase.cancel;
    for (const touch of Array.from(event.changedTouches)) {
      const { x, y } = this.#normalize(touch.clientX, touch.clientY);
      this.#options.send({ type: 'touch', id: touch.identifier & 0xff, phase, x, y });
    }
  }

  #pollGamepads(): void {
    this.#frame = undefined;
    this.#lookupTimer = undefined;
    if (this.#closed) return;
    const pads = typeof navigator.getGamepads === 'function' ? navigator.getGamepads() : [];
    const now = performance.now();
    let connected = false;
    for (const pad of pads) {
      if (pad === null || !pad.connected || pad.index > 3) continue;
      connected = true;
      let buttons = 0;
      pad.buttons.forEach((button, i) => {
        if (i < 32 && (button.pressed || button.value > 0.5)) buttons |= 1 << i;
      });
      buttons >>>= 0;
      const axes = pad.axes.slice(0, MAX_GAMEPAD_AXES).map((axis) => (Math.abs(axis) < 0.08 ? 0 : axis));
      const last = this.#gamepads.get(pad.index);
      const changed =
        last === undefined ||
        last.buttons !== buttons ||
        axes.some((axis, i) => Math.abs(axis - (last.axes[i] ?? 0)) > 0.01);
      const held = buttons !== 0 || axes.some((axis) => axis !== 0);
      if (changed || (held && now - (last?.sentAt ?? 0) >= GAMEPAD_REPEAT_MS)) {
        this.#options.send({ type: 'gamepad', index: pad.index, buttons, axes });
        this.#gamepads.set(pad.index, { buttons, axes, sentAt: now });
      }
    }
    if (connected) this.#frame = requestAnimationFrame(() => this.#pollGamepads());
    else this.#lookupTimer = setTimeout(() => this.#pollGamepads(), GAMEPAD_LOOKUP_MS);
  }
}
