import { findError } from '../../protocol/errors.js';
import { type CreateSessionResponse, type GameInfo, parseSessionEvent } from '../../protocol/playerApi.js';
import { measureRtt, median, type PlayerApi } from './api.js';
import { FrameProbe, type StampedFrame } from './FrameProbe.js';
import type { StreamStats } from './hookTypes.js';
import { InputController } from './InputController.js';
import { PlaySession, type PlaySessionReason } from './PlaySession.js';
import { StatsSampler } from './StatsSampler.js';
import { type AppState, hook, recordSample } from './testHook.js';

/** Options of a PlayView. */
export interface PlayViewOptions {
  api: PlayerApi;
  game: GameInfo;
  /** Element the view renders into (emptied). */
  container: HTMLElement;
  /** Called when the player goes back to the catalog. */
  onExit: () => void;
  /** ICE servers for the peer connection (default none). */
  iceServers?: RTCIceServer[];
}

/** Automatic reconnect attempts after a drop, with these delays (ms); then only the button. */
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
const STATS_PERIOD_MS = 500;
/** Key presses not seen in a stamp within this time are forgotten (input-to-photon). */
const PENDING_KEY_TTL_MS = 5000;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

const fmt = (value: number | undefined, digits = 0, unit = ''): string =>
  value === undefined ? '–' : `${value.toFixed(digits)}${unit}`;

/**
 * The play view: allocates a session (candidates → RTT probes → POST /v1/sessions), streams it into a
 * <video>, sends input, shows the stats overlay, and recovers from drops (automatic retries, then a
 * Reconnect button) and from matchmaker `moved` events without reloading the page.
 */
export class PlayView {
  readonly #options: PlayViewOptions;
  readonly #root: HTMLElement;
  readonly #stage: HTMLElement;
  readonly #video: HTMLVideoElement;
  readonly #statsBox: HTMLPreElement;
  readonly #overlay: HTMLElement;
  readonly #dot: HTMLElement;
  readonly #touch: HTMLElement;
  readonly #input: InputController;
  readonly #probe: FrameProbe;
  readonly #recentInputRtt: number[] = [];
  readonly #recentGlass: number[] = [];
  readonly #pendingKeys: { seq: number; sentAt: number }[] = [];
  #session: PlaySession | undefined;
  #sampler: StatsSampler | undefined;
  #current: CreateSessionResponse | undefined;
  #events: WebSocket | undefined;
  #eventsFor: string | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #connects = 0;
  /** Bumped by every allocation or connection, so a late allocation cannot replace a newer stream. */
  #epoch = 0;
  /** Bitrate the player asked for (kbit/s); undefined = the edge's default. Kept across reconnects. */
  #bitrateKbps: number | undefined;
  #lastDecoded = { frames: -1, at: 0 };
  #keyframeAskedAt = 0;
  #closed = false;

  constructor(options: PlayViewOptions) {
    this.#options = options;
    const { game } = options;
    this.#video = el('video', { playsinline: '', autoplay: '', 'aria-label': `${game.title} stream` });
    this.#video.playsInline = true;
    this.#video.autoplay = true;
    this.#statsBox = el('pre', { class: 'stats', 'aria-label': 'Stream statistics' });
    this.#overlay = el('div', { class: 'overlay', role: 'status' });
    this.#touch = this.#buildTouchControls();
    this.#stage = el(
      'div',
      { class: 'stage', tabindex: '0' },
      this.#video,
      this.#statsBox,
      this.#touch,
      this.#overlay,
    );
    this.#dot = el('span', { class: 'status-dot', 'data-state': 'starting', title: 'connection' });

    const back = el('button', { type: 'button', 'data-action': 'back' }, '← Games');
    back.addEventListener('click', () => this.exit());
    const statsButton = el(
      'button',
      { type: 'button', 'data-action': 'stats', 'aria-pressed': 'true' },
      'Stats',
    );
    statsButton.addEventListener('click', () => {
      this.#statsBox.hidden = !this.#statsBox.hidden;
      statsButton.setAttribute('aria-pressed', String(!this.#statsBox.hidden));
    });
    const touchButton = el('button', { type: 'button', 'data-action': 'touch' }, 'Touch pad');
    touchButton.addEventListener('click', () => {
      this.#touch.hidden = !this.#touch.hidden;
    });
    const quality = el('select', { 'data-action': 'bitrate', 'aria-label': 'Video bitrate' });
    // The edge starts at its configured bitrate; the first entry only labels the control.
    quality.append(el('option', { value: '', disabled: '', selected: '' }, 'Bitrate'));
    for (const [label, kbps] of [
      ['2 Mbit/s', '2000'],
      ['4 Mbit/s', '4000'],
      ['8 Mbit/s', '8000'],
      ['15 Mbit/s', '15000'],
    ] as const) {
      quality.append(el('option', { value: kbps }, label));
    }
    quality.addEventListener('change', () => {
      this.#bitrateKbps = quality.value === '' ? undefined : Number(quality.value);
      this.#applyBitrate();
      this.#stage.focus();
    });
    const fullscreen = el('button', { type: 'button', 'data-action': 'fullscreen' }, 'Fullscreen');
    fullscreen.addEventListener('click', () => this.#toggleFullscreen());
    const bar = el(
      'div',
      { class: 'play-bar' },
      back,
      this.#dot,
      el('span', { class: 'title' }, game.title),
      el('span', { class: 'hint' }, 'Click the picture to capture the mouse · Esc releases it'),
      quality,
      statsButton,
      touchButton,
      fullscreen,
    );
    this.#root = el('section', { class: 'play', 'data-game': game.id }, bar, this.#stage);
    options.container.replaceChildren(this.#root);

    this.#input = new InputController({
      surface: this.#stage,
      video: this.#video,
      send: (message) => this.#session?.sendInput(message) ?? 0,
      pointerLock: game.input.includes('mouse'),
      onKeySent: (_code, seq) => {
        this.#pendingKeys.push({ seq, sentAt: performance.now() });
        if (this.#pendingKeys.length > 256) this.#pendingKeys.shift();
      },
    });
    this.#probe = new FrameProbe(this.#video, (frame) => this.#onStampedFrame(frame));
    hook.sendKey = (code) => this.#input.pressKey(code);
    hook.gameId = game.id;
    hook.reconnects = 0;
    hook.lastStamp = null;
    this.#renderStats(hook.stats);
    this.#statsTimer = setInterval(() => this.#sampleStats(), STATS_PERIOD_MS);
    this.#stage.focus();
    void this.#allocate();
  }

  /** Ends the session (sends `end`) and goes back to the catalog. */
  exit(): void {
    this.close();
    this.#options.onExit();
  }

  /** Ends the session and tears the view down (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#statsTimer);
    clearTimeout(this.#retryTimer);
    this.#session?.end();
    this.#session = undefined;
    this.#closeEvents();
    this.#input.close();
    this.#probe.close();
    this.#video.srcObject = null;
    if (document.fullscreenElement === this.#stage) document.exitFullscreen().catch(() => {});
    hook.sendKey = () => 0;
    hook.sessionId = undefined;
    hook.gameId = undefined;
    this.#root.remove();
  }

  #setState(state: AppState, reason?: PlaySessionReason): void {
    hook.state = state;
    hook.error =
      reason === undefined
        ? undefined
        : `${reason.code === undefined ? '' : `${reason.code}: `}${reason.message}`;
    this.#dot.dataset.state = state;
    this.#root.dataset.state = state;
  }

  #showOverlay(
    title: string,
    text: string,
    actions: { label: string; primary?: boolean; run: () => void }[] = [],
    busy = false,
  ): void {
    const box = el('div', { class: 'overlay-box' });
    if (busy) box.append(el('div', { class: 'spinner', 'aria-hidden': 'true' }));
    box.append(el('h2', {}, title), el('p', {}, text));
    if (actions.length > 0) {
      const row = el('div', { class: 'overlay-actions' });
      for (const action of actions) {
        const button = el(
          'button',
          {
            type: 'button',
            class: action.primary ? 'primary' : '',
            'data-action': action.label.toLowerCase(),
          },
          action.label,
        );
        button.addEventListener('click', action.run);
        row.append(button);
      }
      box.append(row);
    }
    this.#overlay.replaceChildren(box);
    this.#overlay.hidden = false;
  }

  #hideOverlay(): void {
    this.#overlay.hidden = true;
    this.#overlay.replaceChildren();
  }

  /** Asks the API for a session (candidates → RTT → POST /v1/sessions) and connects to it. */
  async #allocate(replaces?: string): Promise<void> {
    const { api, game } = this.#options;
    clearTimeout(this.#retryTimer);
    const epoch = ++this.#epoch;
    this.#setState('starting');
    this.#showOverlay(game.title, 'Finding the nearest edge…', [], true);
    try {
      const candidates = await api.candidates(game.id);
      const measurements = await measureRtt(candidates);
      if (this.#closed || epoch !== this.#epoch) return;
      const session = await api.createSession(game.id, measurements, replaces);
      if (this.#closed || epoch !== this.#epoch) return;
      const rtt = measurements.find((m) => m.edgeId === session.edge.edgeId)?.rttMs;
      this.#connect(session, rtt);
    } catch (error) {
      if (this.#closed || epoch !== this.#epoch) return;
      const message = error instanceof Error ? error.message : String(error);
      const reason: PlaySessionReason = { message: `Could not start the game: ${message}`, retryable: true };
      const code = findError(error)?.code;
      if (code !== undefined) reason.code = code;
      this.#onDropped(reason);
    }
  }

  /** Streams `session` (a new one, a reconnect, or a session moved to another edge). */
  #connect(session: CreateSessionResponse, measuredRttMs?: number): void {
    clearTimeout(this.#retryTimer);
    this.#epoch++;
    this.#session?.close();
    this.#current = session;
    hook.sessionId = session.sessionId;
    if (this.#connects > 0) hook.reconnects++;
    this.#connects++;
    this.#setState('connecting');
    const rtt = measuredRttMs === undefined ? '' : ` (${measuredRttMs.toFixed(1)} ms away)`;
    this.#showOverlay(this.#options.game.title, `Connecting to edge ${session.edge.region}${rtt}…`, [], true);
    const options: ConstructorParameters<typeof PlaySession>[0] = {
      signalUrl: session.edge.signalUrl,
      token: session.token,
    };
    if (this.#options.iceServers !== undefined) options.iceServers = this.#options.iceServers;
    const play = new PlaySession(options);
    this.#session = play;
    this.#sampler = new StatsSampler(play.peerConnection);
    play.on('session', (info) => {
      hook.encoder = info.encoder;
    });
    play.on('stream', (stream) => {
      if (this.#video.srcObject !== stream) this.#video.srcObject = stream;
      this.#video.play().catch(() => {
        // Autoplay with sound refused: play muted; a click on the stage unmutes.
        this.#video.muted = true;
        this.#video.play().catch(() => {});
        this.#stage.addEventListener('click', () => (this.#video.muted = false), { once: true });
      });
    });
    play.on('inputRtt', (rtt) => {
      recordSample('inputRttMs', rtt);
      this.#recentInputRtt.push(rtt);
      if (this.#recentInputRtt.length > 9) this.#recentInputRtt.shift();
    });
    play.on('state', ({ state, reason }) => {
      if (play !== this.#session) return;
      if (state === 'playing') {
        this.#attempt = 0;
        this.#setState('playing');
        this.#applyBitrate();
        this.#hideOverlay();
      } else if (state === 'dropped') {
        this.#onDropped(reason ?? { message: 'The stream stopped.', retryable: true });
      } else if (state === 'ended') {
        this.#onEnded(reason?.message ?? 'Session ended.');
      }
    });
    this.#watchEvents(session.sessionId);
  }

  #onDropped(reason: PlaySessionReason): void {
    if (this.#closed) return;
    this.#setState('dropped', reason);
    const reconnect = () => {
      clearTimeout(this.#retryTimer);
      void this.#allocate(this.#current?.sessionId);
    };
    const actions = [
      { label: 'Reconnect', primary: true, run: reconnect },
      { label: 'Back', run: () => this.exit() },
    ];
    const delay = reason.retryable ? RETRY_DELAYS_MS[this.#attempt] : undefined;
    if (delay === undefined) {
      this.#showOverlay('Stream lost', reason.message, actions);
      return;
    }
    this.#attempt++;
    this.#showOverlay(
      'Stream lost',
      `${reason.message} Reconnecting (attempt ${this.#attempt} of ${RETRY_DELAYS_MS.length})…`,
      actions,
      true,
    );
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(reconnect, delay);
  }

  #onEnded(message: string): void {
    if (this.#closed) return;
    this.#setState('ended', { message, retryable: false });
    this.#closeEvents();
    this.#showOverlay('Session ended', message, [
      {
        label: 'Play again',
        primary: true,
        run: () => {
          this.#attempt = 0;
          void this.#allocate();
        },
      },
      { label: 'Back', run: () => this.exit() },
    ]);
  }

  /**
   * Watches the matchmaker's session events (`moved` → reconnect to the new edge with the new token;
   * `ended`). A standalone edge has no such endpoint: a socket that never opens is not retried.
   */
  #watchEvents(sessionId: string): void {
    if (this.#eventsFor === sessionId && this.#events !== undefined) return;
    // The API served by the edge itself (standalone) has no events socket: only a matchmaker moves sessions.
    const edgeOrigin = new URL(this.#current?.edge.url ?? '', window.location.href).origin;
    if (edgeOrigin === new URL(this.#options.api.base, window.location.href).origin) return;
    this.#closeEvents();
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.#options.api.sessionEventsUrl(sessionId));
    } catch {
      return;
    }
    this.#events = socket;
    this.#eventsFor = sessionId;
    let opened = false;
    socket.onopen = () => {
      opened = true;
    };
    socket.onmessage = (message) => {
      const event = parseSessionEvent(message.data);
      if (event === undefined || this.#closed) return;
      if (event.type === 'moved') {
        this.#attempt = 0;
        this.#connect(event.session);
      } else {
        this.#session?.close();
        this.#onEnded(`Session ended: ${event.reason}`);
      }
    };
    socket.onclose = () => {
      if (this.#events !== socket) return;
      this.#events = undefined;
      this.#eventsFor = undefined;
      // Reopen after a drop of an events socket that did work, while the session is still wanted.
      if (opened && !this.#closed && hook.state !== 'ended') {
        setTimeout(() => {
          if (!this.#closed && this.#current?.sessionId === sessionId) this.#watchEvents(sessionId);
        }, 1000);
      }
    };
  }

  #closeEvents(): void {
    const socket = this.#events;
    this.#events = undefined;
    this.#eventsFor = undefined;
    if (socket !== undefined) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000);
    }
  }

  #onStampedFrame(frame: StampedFrame): void {
    hook.lastStamp = { ...frame.stamp, glassToGlassMs: frame.glassToGlassMs };
    recordSample('glassToGlassMs', frame.glassToGlassMs);
    if (frame.captureToReceiveMs !== undefined) recordSample('captureToReceiveMs', frame.captureToReceiveMs);
    if (frame.processingMs !== undefined) recordSample('processingMs', frame.processingMs);
    this.#recentGlass.push(frame.glassToGlassMs);
    if (this.#recentGlass.length > 60) this.#recentGlass.shift();
    const pending = this.#pendingKeys;
    while (pending.length > 0) {
      const first = pending[0];
      if (first === undefined) break;
      if (first.seq <= frame.stamp.inputSeq) {
        recordSample('inputToPhotonMs', frame.displayTime - first.sentAt);
        pending.shift();
      } else if (frame.displayTime - first.sentAt > PENDING_KEY_TTL_MS) {
        pending.shift();
      } else {
        break;
      }
    }
  }

  #sampleStats(): void {
    const sampler = this.#sampler;
    hook.framesPresented = this.#probe.presentedFrames;
    if (sampler === undefined || this.#session?.closed !== false) return;
    const extra: { inputRttMs?: number; glassToGlassMs?: number } = {};
    if (this.#recentInputRtt.length > 0) extra.inputRttMs = median(this.#recentInputRtt);
    if (this.#recentGlass.length > 0) extra.glassToGlassMs = median(this.#recentGlass);
    this.#recentGlass.length = 0;
    sampler
      .sample(extra)
      .then((stats) => {
        if (sampler !== this.#sampler) return;
        this.#askKeyframeOnStall(stats.framesDecoded);
        hook.stats = stats;
        hook.framesDecoded = stats.framesDecoded;
        this.#renderStats(stats);
      })
      .catch(() => {});
  }

  /**
   * Asks the edge for a keyframe when no frame was decoded for a second while connected (a lost
   * keyframe or a decoder stuck after loss); at most one request every 2 s. The browser's own PLI
   * usually gets there first; this covers the cases it does not.
   */
  #askKeyframeOnStall(framesDecoded: number): void {
    const now = performance.now();
    if (hook.state !== 'playing' || framesDecoded !== this.#lastDecoded.frames) {
      this.#lastDecoded = { frames: framesDecoded, at: now };
      return;
    }
    if (now - this.#lastDecoded.at >= 1000 && now - this.#keyframeAskedAt >= 2000) {
      this.#keyframeAskedAt = now;
      this.#session?.control({ type: 'keyframe' });
    }
  }

  #renderStats(stats: StreamStats): void {
    const size = stats.width === undefined ? '–' : `${stats.width}×${stats.height}`;
    const lines = [
      `${(stats.codec ?? 'video').replace('video/', '')} ${size}  ${hook.encoder ?? ''}`,
      `fps         ${fmt(stats.fps, 1)}`,
      `bitrate     ${fmt(stats.bitrateKbps === undefined ? undefined : stats.bitrateKbps / 1000, 2, ' Mbit/s')}`,
      `rtt         ${fmt(stats.rttMs, 1, ' ms')}   input ${fmt(stats.inputRttMs, 1, ' ms')}`,
      `loss        ${fmt(stats.packetLossPct, 2, ' %')}`,
      `decode      ${fmt(stats.decodeMs, 1, ' ms')}   jitter buf ${fmt(stats.jitterBufferMs, 1, ' ms')}`,
      `glass→glass ${fmt(stats.glassToGlassMs, 1, ' ms')}`,
      `frames      ${stats.framesDecoded}  dropped ${stats.framesDropped}  freezes ${stats.freezeCount}`,
    ];
    this.#statsBox.textContent = lines.join('\n');
  }

  #applyBitrate(): void {
    if (this.#bitrateKbps !== undefined) this.#session?.control({ type: 'bitrate', kbps: this.#bitrateKbps });
  }

  #toggleFullscreen(): void {
    if (document.fullscreenElement === this.#stage) {
      document.exitFullscreen().catch(() => {});
      return;
    }
    this.#stage
      .requestFullscreen({ navigationUI: 'hide' })
      .then(() => {
        // Keep Esc and friends for the game where the browser allows it.
        const keyboard = (navigator as Navigator & { keyboard?: { lock?: () => Promise<void> } }).keyboard;
        keyboard?.lock?.().catch(() => {});
      })
      .catch(() => {});
  }

  /** On-screen d-pad (arrow keys) and two buttons (Space, Enter) for touch screens. */
  #buildTouchControls(): HTMLElement {
    const button = (label: string, code: string, area: string) => {
      const b = el('button', { type: 'button', 'aria-label': code, style: `grid-area: ${area}` }, label);
      const press = (event: Event) => {
        event.preventDefault();
        b.classList.add('down');
        this.#input.pressKey(code, true);
      };
      const release = (event: Event) => {
        event.preventDefault();
        if (!b.classList.contains('down')) return;
        b.classList.remove('down');
        this.#input.releaseKey(code);
      };
      b.addEventListener('pointerdown', press);
      b.addEventListener('pointerup', release);
      b.addEventListener('pointercancel', release);
      b.addEventListener('pointerleave', release);
      return b;
    };
    const dpad = el(
      'div',
      { class: 'dpad' },
      button('▲', 'ArrowUp', '1 / 2'),
      button('◀', 'ArrowLeft', '2 / 1'),
      button('▶', 'ArrowRight', '2 / 3'),
      button('▼', 'ArrowDown', '3 / 2'),
    );
    const face = el('div', { class: 'face' }, button('B', 'Enter', 'auto'), button('A', 'Space', 'auto'));
    const controls = el('div', { class: 'touch-controls' }, dpad, face);
    controls.hidden = !window.matchMedia('(pointer: coarse)').matches;
    return controls;
  }
}
