import { AV_PIX_FMT_YUV420P, type AVPixelFormat, SWS_BILINEAR, SWS_POINT } from 'node-av/constants';
import { Dictionary, FormatContext, InputFormat, Packet, SoftwareScaleContext } from 'node-av/lib';
import type { Logger } from 'pino';
import { FarplayError } from '../../protocol/errors.js';
import type { YuvPlanes } from '../../protocol/frameStamp.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';

/** Options of `X11Capture.open`. */
export interface X11CaptureOptions {
  /** DISPLAY to grab, e.g. ':3'. */
  display: string;
  /** Size of the X screen (what is grabbed). */
  width: number;
  height: number;
  /** Grab rate: the manifest's fps (x11grab paces itself to it). */
  fps: number;
  /** Size of the frames handed out (default: the screen size); scaled once with the conversion. */
  outputWidth?: number;
  outputHeight?: number;
  /** Draw the X cursor into the frames (default true). */
  drawCursor?: boolean;
  logger?: Logger;
}

/** One captured picture, already in I420 at the output size. Valid until the next `frame` event. */
export interface CapturedFrame {
  planes: YuvPlanes;
  /** Wall-clock ms when the grab returned. */
  captureTimeMs: number;
  /** Grab returned → I420 ready, ms (the conversion's cost). */
  convertMs: number;
}

/** Events of an X11Capture. */
export type X11CaptureEvents = {
  frame: [frame: CapturedFrame];
  /** The grab failed (the display went away); no more frames come. */
  error: [error: FarplayError];
};

/**
 * Grabs an X display with FFmpeg's x11grab (inside node-av's FFmpeg, over MIT-SHM) at a fixed rate, with
 * the cursor drawn in, and converts each grab once, straight from the X server's BGR0 into I420 at the
 * output size (one swscale pass on libuv's pool, so several sessions use several cores). Frames go out
 * as events; the two planes sets alternate so a listener can copy the last one while the next converts.
 */
export class X11Capture {
  readonly #options: X11CaptureOptions;
  readonly #context: FormatContext;
  readonly #packet: Packet;
  readonly #events: TypedEmitter<X11CaptureEvents>;
  readonly #sourceFormat: AVPixelFormat;
  #scaler: SoftwareScaleContext | undefined;
  #buffers: { y: Buffer; u: Buffer; v: Buffer; planes: YuvPlanes }[] = [];
  #next = 0;
  #outputWidth: number;
  #outputHeight: number;
  #running: Promise<void> | undefined;
  #closing = false;
  #closed = false;
  #frames = 0;

  private constructor(options: X11CaptureOptions, context: FormatContext, sourceFormat: AVPixelFormat) {
    this.#options = options;
    this.#context = context;
    this.#sourceFormat = sourceFormat;
    this.#packet = new Packet();
    this.#packet.alloc();
    this.#outputWidth = even(options.outputWidth ?? options.width);
    this.#outputHeight = even(options.outputHeight ?? options.height);
    this.#events = new TypedEmitter({
      onListenerError: (error) => options.logger?.error({ err: error }, 'capture listener failed'),
    });
  }

  /** Opens the grab on `options.display`; frames flow after `start()`. Throws EDGE_GAME_START_FAILED. */
  static async open(options: X11CaptureOptions): Promise<X11Capture> {
    const format = InputFormat.findInputFormat('x11grab');
    if (!format) throw new FarplayError('EDGE_GAME_UNSUPPORTED', "this FFmpeg build has no 'x11grab' input");
    const context = new FormatContext();
    context.allocContext();
    const dictionary = Dictionary.fromObject({
      framerate: String(options.fps),
      video_size: `${options.width}x${options.height}`,
      draw_mouse: options.drawCursor === false ? '0' : '1',
    });
    const ret = await context.openInput(options.display, format, dictionary);
    dictionary.free();
    const stream = ret >= 0 ? context.streams?.[0] : undefined;
    if (!stream) {
      context.freeContext();
      throw new FarplayError('EDGE_GAME_START_FAILED', `cannot grab display ${options.display} (${ret})`);
    }
    return new X11Capture(options, context, stream.codecpar.format as AVPixelFormat);
  }

  /** Frames converted so far. */
  get frames(): number {
    return this.#frames;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof X11CaptureEvents>(
    event: K,
    listener: (...args: X11CaptureEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  /** Starts grabbing; idempotent. */
  start(): void {
    this.#running ??= this.#loop();
  }

  /** Changes the size of the frames handed out from the next grab on (the X screen keeps its size). */
  resize(width: number, height: number): void {
    this.#outputWidth = even(width);
    this.#outputHeight = even(height);
  }

  async #loop(): Promise<void> {
    const stride = this.#options.width * 4;
    while (!this.#closing) {
      const ret = await this.#context.readFrame(this.#packet);
      if (this.#closing) break;
      const grabbed = performance.now();
      const captureTimeMs = Date.now();
      const data = ret >= 0 ? this.#packet.data : null;
      if (!data) {
        this.#events.emit('error', new FarplayError('EDGE_GAME_CRASHED', `the display stopped (${ret})`));
        break;
      }
      const target = this.#target();
      await this.#scaler?.scale(
        [data],
        [stride],
        0,
        this.#options.height,
        [target.y, target.u, target.v],
        [target.planes.strideY, target.planes.strideU, target.planes.strideV],
      );
      this.#packet.unref();
      if (this.#closing) break;
      this.#frames++;
      this.#events.emit('frame', {
        planes: target.planes,
        captureTimeMs,
        convertMs: performance.now() - grabbed,
      });
    }
  }

  #target(): { y: Buffer; u: Buffer; v: Buffer; planes: YuvPlanes } {
    const w = this.#outputWidth;
    const h = this.#outputHeight;
    if (this.#buffers[0]?.planes.width !== w || this.#buffers[0]?.planes.height !== h) {
      this.#scaler?.freeContext();
      this.#scaler = new SoftwareScaleContext();
      const same = w === this.#options.width && h === this.#options.height;
      this.#scaler.getContext(
        this.#options.width,
        this.#options.height,
        this.#sourceFormat,
        w,
        h,
        AV_PIX_FMT_YUV420P,
        same ? SWS_POINT : SWS_BILINEAR,
      );
      this.#buffers = [0, 1].map(() => {
        const y = Buffer.alloc(w * h);
        const u = Buffer.alloc((w / 2) * (h / 2));
        const v = Buffer.alloc((w / 2) * (h / 2));
        return {
          y,
          u,
          v,
          planes: { width: w, height: h, y, u, v, strideY: w, strideU: w / 2, strideV: w / 2 },
        };
      });
    }
    const target = this.#buffers[this.#next % 2];
    this.#next++;
    return target as { y: Buffer; u: Buffer; v: Buffer; planes: YuvPlanes };
  }

  /** Stops grabbing and frees FFmpeg's objects once the grab in flight returns; idempotent. */
  async close(): Promise<void> {
    if (this.#closing) {
      await this.#running;
      return;
    }
    this.#closing = true;
    this.#events.removeAllListeners();
    await this.#running?.catch(() => undefined);
    await this.#context.closeInput();
    this.#context.freeContext();
    this.#packet.free();
    this.#scaler?.freeContext();
    this.#closed = true;
  }
}

function even(n: number): number {
  return Math.max(2, Math.floor(n / 2) * 2);
}
