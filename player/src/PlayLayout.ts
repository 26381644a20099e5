import { stampHeight } from '../../protocol/frameStamp.js';
import { type Box, layoutStage, type StageLayout } from './layoutStage.js';

/** Options of a PlayLayout. */
export interface PlayLayoutOptions {
  /** The stage (position: relative): everything below lives in it. */
  stage: HTMLElement;
  /** The picture's frame (overflow hidden); the <video> inside is sized and moved so the frame crops it. */
  screen: HTMLElement;
  video: HTMLVideoElement;
  /** The side panel (stats, prompts, the bill); empty or hidden children take no room. */
  side: HTMLElement;
  /** The on-screen pad and its two clusters, when the game has one. */
  pad: { element: HTMLElement; left: HTMLElement; right: HTMLElement } | undefined;
  /** The game's size, used until the video knows its own. */
  gameSize: { width: number; height: number };
}

const px = (value: number): string => `${Math.round(value)}px`;

function place(element: HTMLElement, box: Box): void {
  element.style.left = px(box.x);
  element.style.top = px(box.y);
  element.style.width = px(box.width);
  element.style.height = px(box.height);
}

/**
 * Keeps the play stage laid out (`layoutStage`) as the window, the side panel or the pad change size:
 * the picture as large as the stage allows without covering the side panel, and without covering the
 * pad unless the screen leaves no room for it (a phone held sideways). While the stream carries frame
 * stamps (`cropStamp`: the overlay or a benchmark asked), the stamp strip at the top is cropped out of view.
 * `close()` stops watching (idempotent).
 */
export class PlayLayout {
  readonly #options: PlayLayoutOptions;
  readonly #observer: ResizeObserver;
  readonly #onVideoResize = () => this.schedule();
  #cropStamp = false;
  #frame: number | undefined;
  #layout: StageLayout | undefined;
  #closed = false;

  constructor(options: PlayLayoutOptions) {
    this.#options = options;
    this.#observer = new ResizeObserver(() => this.schedule());
    this.#observer.observe(options.stage);
    this.#observer.observe(options.side);
    if (options.pad) this.#observer.observe(options.pad.element);
    options.video.addEventListener('resize', this.#onVideoResize);
    this.update();
  }

  /** The last layout applied. */
  get layout(): StageLayout | undefined {
    return this.#layout;
  }

  /** Hides the frame-stamp strip at the top of the picture while the stream carries stamps. */
  cropStamp(on: boolean): void {
    if (this.#cropStamp === on) return;
    this.#cropStamp = on;
    this.schedule();
  }

  /** Lays out again at the next animation frame (once, however often it is called). */
  schedule(): void {
    if (this.#closed || this.#frame !== undefined) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = undefined;
      this.update();
    });
  }

  /** Lays out now. */
  update(): void {
    if (this.#closed) return;
    const { stage, screen, video, side, pad, gameSize } = this.#options;
    const width = stage.clientWidth;
    const height = stage.clientHeight;
    if (width === 0 || height === 0) return;
    const stageRect = stage.getBoundingClientRect();

    let padSize: { height: number; leftWidth: number; rightWidth: number } | undefined;
    if (pad && !pad.element.hidden) {
      const left = pad.left.getBoundingClientRect();
      const right = pad.right.getBoundingClientRect();
      const top = Math.min(
        left.height > 0 ? left.top : stageRect.bottom,
        right.height > 0 ? right.top : stageRect.bottom,
      );
      padSize = {
        height: Math.max(0, stageRect.bottom - top),
        leftWidth: left.width > 0 ? left.right - stageRect.left : 0,
        rightWidth: right.width > 0 ? stageRect.right - right.left : 0,
      };
      if (padSize.height === 0) padSize = undefined;
    }

    // The side panel's natural size: let it size itself, then read it.
    side.style.maxHeight = '';
    side.style.maxWidth = px(width);
    const hasSide = [...side.children].some((child) => !(child as HTMLElement).hidden);
    side.hidden = !hasSide;
    const sideRect = hasSide ? side.getBoundingClientRect() : undefined;

    const videoWidth = video.videoWidth || gameSize.width;
    const videoHeight = video.videoHeight || gameSize.height;
    const crop = this.#cropStamp ? Math.min(videoHeight - 2, stampHeight(videoWidth)) : 0;
    const layout = layoutStage({
      stage: { width, height },
      aspect: videoWidth / (videoHeight - crop),
      pad: padSize,
      side: sideRect && { width: Math.ceil(sideRect.width), height: Math.ceil(sideRect.height) },
    });
    this.#layout = layout;
    place(screen, layout.screen);
    const scale = layout.screen.width / videoWidth;
    video.style.left = '0';
    video.style.width = '100%';
    video.style.top = px(-crop * scale);
    video.style.height = px(videoHeight * scale);
    if (layout.side) {
      // Width stays the panel's own (max-content), so new stats text re-lays the stage out.
      side.style.left = px(layout.side.x);
      side.style.top = px(layout.side.y);
      side.style.maxHeight = px(layout.side.height);
    }
    stage.dataset.layout = layout.mode;
    stage.dataset.padOverScreen = String(layout.padOverScreen);
  }

  /** Stops watching sizes (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#observer.disconnect();
    this.#options.video.removeEventListener('resize', this.#onVideoResize);
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
  }
}
