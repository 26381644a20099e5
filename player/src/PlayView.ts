import { findError } from '../../protocol/errors.js';
import type { CreateSessionResponse, GameInfo } from '../../protocol/playerApi.js';
import type { QualityMessage } from '../../protocol/signaling.js';
import { median, type PlayerApi } from './api.js';
import { BillingView } from './BillingView.js';
import { ControlBar } from './ControlBar.js';
import { EdgeClock } from './EdgeClock.js';
import { el } from './el.js';
import { FrameProbe, type StampedFrame } from './FrameProbe.js';
import { FullscreenPlay } from './FullscreenPlay.js';
import { findEdge } from './findEdge.js';
import { formatStats } from './formatStats.js';
import { InputController } from './InputController.js';
import { InputToPhoton } from './InputToPhoton.js';
import { PlayLayout } from './PlayLayout.js';
import { PlayOverlay } from './PlayOverlay.js';
import { PlaySession, type PlaySessionReason } from './PlaySession.js';
import { rememberedChoice } from './rememberedChoice.js';
import { SessionKey } from './SessionKey.js';
import { SessionWatch } from './SessionWatch.js';
import { StallWatch } from './StallWatch.js';
import { StatsSampler } from './StatsSampler.js';
import { showPause } from './showPause.js';
import { TouchPad } from './TouchPad.js';
import { type AppState, hook, recordSample } from './testHook.js';
import { timezoneLocation } from './timezoneLocation.js';
import { askForStamps } from './wantsStamps.js';

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
/** The remembered toggles: stats overlay (off until asked for) and touch pad (on for touch screens). */
const statsChoice = rememberedChoice('farplay.statsOverlay');
const padChoice = rememberedChoice('farplay.touchPad');

/**
 * The play view: allocates a session (candidates → RTT probes → POST /v1/sessions), streams it into a
 * <video>, sends input, shows the stats overlay, and recovers from drops (automatic retries, then a
 * Reconnect button) and from matchmaker `moved` events without reloading the page.
 *
 * Layout (PlayLayout): a control bar (a rail on the left of a phone held sideways) and the stage, where
 * the picture takes the largest area that covers neither the on-screen pad nor the side panel (stats,
 * prompts, and the `bill` slot the billing view fills); the bar has an `account` slot for the wallet.
 * On a touch device, play goes fullscreen and asks for landscape (a prompt to turn the device where the
 * browser cannot lock it). The stats overlay is off until asked for (frame stamps only while it is on).
 */
export class PlayView {
  readonly #options: PlayViewOptions;
  readonly #root: HTMLElement;
  readonly #stage: HTMLElement;
  readonly #video: HTMLVideoElement;
  readonly #statsBox: HTMLPreElement;
  readonly #overlay: PlayOverlay;
  readonly #dot: HTMLElement;
  readonly #pad: TouchPad;
  readonly #layout: PlayLayout;
  readonly #fullscreen: FullscreenPlay;
  readonly #input: InputController;
  readonly #probe: FrameProbe;
  readonly #touchOnly: boolean;
  readonly #recentInputRtt: number[] = [];
  readonly #recentGlass: number[] = [];
  readonly #inputToPhoton = new InputToPhoton();
  #session: PlaySession | undefined;
  #sampler: StatsSampler | undefined;
  #edgeClock: EdgeClock | undefined;
  #edgeClockUrl: string | undefined;
  #current: CreateSessionResponse | undefined;
  /** The current session's key (SessionKey.ts): a new one per session request, kept when a session moves. */
  #key: SessionKey | undefined;
  #billing: BillingView | undefined;
  #watch: SessionWatch | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #connects = 0;
  /** Bumped by every allocation or connection, so a late allocation cannot replace a newer stream. */
  #epoch = 0;
  /** Bitrate the player asked for (kbit/s); undefined = the edge's default. Kept across reconnects. */
  #bitrateKbps: number | undefined;
  /** The edge's last bandwidth adaptation report (shown in the stats overlay). */
  #quality: QualityMessage | undefined;
  readonly #stall = new StallWatch();
  #closed = false;

  constructor(options: PlayViewOptions) {
    this.#options = options;
    const { game } = options;
    this.#touchOnly = window.matchMedia('(hover: none) and (pointer: coarse)').matches;
    const anyTouch = window.matchMedia('(any-pointer: coarse)').matches;

    this.#video = el('video', { playsinline: '', autoplay: '', 'aria-label': `${game.title} stream` });
    const screen = el('div', { class: 'screen' }, this.#video);
    // The game's surface: keys go to the game while it has the focus (Escape excepted, see InputController).
    this.#stage = el('div', {
      class: 'stage',
      tabindex: '0',
      role: 'application',
      'aria-label': game.title,
      'aria-describedby': 'play-hint play-escape',
    });
    this.#statsBox = el('pre', { class: 'stats', role: 'group', 'aria-label': 'Stream statistics' });
    this.#statsBox.hidden = !statsChoice.get(false);
    this.#fullscreen = new FullscreenPlay({
      touchOnly: this.#touchOnly,
      stage: this.#stage,
      onPromptChange: () => this.#layout.update(),
    });
    const bill = el('div', { class: 'bill', 'data-slot': 'bill', hidden: '' });
    const side = el('div', { class: 'side' }, this.#fullscreen.prompt, this.#statsBox, bill);
    this.#overlay = new PlayOverlay(this.#stage);
    this.#pad = new TouchPad({
      game,
      press: (code) => this.#input.pressKey(code, true),
      release: (code) => this.#input.releaseKey(code),
    });
    this.#pad.element.hidden = !this.#pad.useful || !padChoice.get(anyTouch);
    this.#stage.append(screen, side, this.#pad.element, this.#overlay.element);
    const bar = new ControlBar({
      game,
      touchOnly: this.#touchOnly,
      padToggle: this.#pad.useful && anyTouch,
      statsOn: !this.#statsBox.hidden,
      padOn: !this.#pad.element.hidden,
      onBack: () => this.exit(),
      onStats: (on) => {
        this.#statsBox.hidden = !on;
        statsChoice.set(on);
        askForStamps(this.#session, !this.#statsBox.hidden);
        this.#layout.update();
      },
      onPad: (on) => {
        this.#pad.element.hidden = !on;
        padChoice.set(on);
        this.#layout.update();
      },
      onBitrate: (kbps) => {
        this.#bitrateKbps = kbps;
        this.#applyBitrate();
        this.#stage.focus();
      },
      onFullscreen: () => this.#fullscreen.toggle(),
      surface: this.#stage,
    });
    this.#dot = bar.dot;
    this.#root = el(
      'section',
      { class: 'play', 'data-game': game.id, 'data-touch': String(this.#touchOnly) },
      bar.element,
      this.#stage,
      el('span', { id: 'play-escape', class: 'visually-hidden' }, 'Escape goes back to the games.'),
    );
    options.container.replaceChildren(this.#root);
    this.#billing = new BillingView(options.api.base, this.#root);
    this.#layout = new PlayLayout({
      stage: this.#stage,
      screen,
      video: this.#video,
      side,
      pad: this.#pad.useful ? this.#pad : undefined,
      gameSize: game,
    });

    this.#input = new InputController({
      surface: this.#stage,
      video: this.#video,
      send: (message) => this.#session?.sendInput(message) ?? 0,
      pointerLock: game.input.includes('mouse') && !this.#touchOnly,
      onEscape: () => this.exit(),
      onKeySent: (_code, seq) => {
        this.#inputToPhoton.sent(seq, performance.now());
      },
    });
    this.#probe = new FrameProbe(
      this.#video,
      (frame) => this.#onStampedFrame(frame),
      () => this.#edgeClock?.estimate,
      () => this.#layout.cropStamp(false),
    );
    hook.sendKey = (code) => this.#input.pressKey(code);
    hook.gameId = game.id;
    hook.reconnects = 0;
    hook.lastStamp = null;
    hook.quality = null;
    this.#statsBox.textContent = formatStats(hook.stats, hook.encoder, undefined);
    this.#statsTimer = setInterval(() => {
      this.#sampleStats();
      // The RTT ping goes half a period after each getStats(), never next to one (that adds ~0.8 ms to it).
      setTimeout(() => this.#session?.ping(), STATS_PERIOD_MS / 2);
    }, STATS_PERIOD_MS);
    if (this.#touchOnly) void this.#fullscreen.enter();
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
    this.#billing?.close();
    this.#endAtMatchmaker();
    this.#edgeClock?.close();
    this.#closeEvents();
    this.#input.close();
    this.#probe.close();
    this.#layout.close();
    this.#fullscreen.close();
    this.#video.srcObject = null;
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
    this.#dot.setAttribute('aria-label', `Connection: ${state}`);
    this.#root.dataset.state = state;
  }

  /**
   * Asks the API for a session (candidates → RTT → POST /v1/sessions, named by a fresh session key) and
   * connects to it; `replaces` (a dropped session) is given up with its own key's signed 'replace'.
   */
  async #allocate(replaces?: CreateSessionResponse): Promise<void> {
    const { api, game } = this.#options;
    clearTimeout(this.#retryTimer);
    const epoch = ++this.#epoch;
    this.#setState('starting');
    this.#overlay.show(game.title, 'Finding the nearest edge…', [], true);
    try {
      // A coarse hint from the time zone (no permission asked): the matchmaker probes that part of the world first.
      const near = timezoneLocation(
        Intl.DateTimeFormat().resolvedOptions().timeZone,
        new Date().getTimezoneOffset(),
      );
      const { measurements, coordinate } = await findEdge(api, game.id, near);
      if (this.#closed || epoch !== this.#epoch) return;
      const oldKey = this.#key;
      const replace =
        replaces === undefined || oldKey === undefined
          ? undefined
          : { sessionId: replaces.sessionId, proof: await oldKey.signAct('replace', replaces) };
      const key = SessionKey.create();
      const payer = await this.#billing?.prepare();
      const session = await api.createSession(game.id, measurements, key, replace, payer, near, coordinate);
      await this.#billing?.begin(session, key);
      if (this.#closed || epoch !== this.#epoch) return;
      const rtt = measurements.find((m) => m.edgeId === session.edge.edgeId)?.rttMs;
      this.#connect(session, key, rtt);
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
  #connect(session: CreateSessionResponse, key: SessionKey, measuredRttMs?: number): void {
    clearTimeout(this.#retryTimer);
    this.#epoch++;
    this.#session?.close();
    this.#current = session;
    this.#key = key;
    hook.sessionId = session.sessionId;
    if (this.#connects > 0) hook.reconnects++;
    this.#connects++;
    this.#setState('connecting');
    const rtt = measuredRttMs === undefined ? '' : ` (${measuredRttMs.toFixed(1)} ms away)`;
    const connecting = `Connecting to edge ${session.edge.region}${rtt}…`;
    this.#overlay.show(this.#options.game.title, connecting, [], true);
    const options: ConstructorParameters<typeof PlaySession>[0] = {
      signalUrl: session.edge.signalUrl,
      token: session.token,
      pingIntervalMs: 0, // pinged from the stats timer, clear of its getStats()
    };
    if (this.#options.iceServers !== undefined) options.iceServers = this.#options.iceServers;
    const play = new PlaySession(options);
    this.#session = play;
    const probeUrl = `${session.edge.url.replace(/\/$/, '')}/v1/probe`;
    if (this.#edgeClock === undefined || this.#edgeClockUrl !== probeUrl) {
      this.#edgeClock?.close();
      this.#edgeClock = new EdgeClock({ probeUrl });
      this.#edgeClockUrl = probeUrl;
    }
    this.#sampler = new StatsSampler(play.peerConnection);
    this.#billing?.attach(play.peerConnection);
    play.on('session', (info) => {
      hook.encoder = info.encoder;
      askForStamps(this.#session, !this.#statsBox.hidden);
    });
    play.on('paused', (why) => showPause(this.#overlay, why));
    play.on('quality', (quality) => {
      this.#quality = quality;
      hook.quality = quality;
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
        this.#overlay.hide();
      } else if (state === 'dropped') {
        this.#onDropped(reason ?? { message: 'The stream stopped.', retryable: true });
      } else if (state === 'ended') {
        this.#onEnded(reason?.message ?? 'Session ended.');
      }
    });
    this.#watchEvents(session, key);
  }

  #onDropped(reason: PlaySessionReason): void {
    if (this.#closed) return;
    this.#setState('dropped', reason);
    const reconnect = () => {
      clearTimeout(this.#retryTimer);
      void this.#allocate(this.#current);
    };
    const actions = [
      { label: 'Reconnect', primary: true, run: reconnect },
      { label: 'Back', run: () => this.exit() },
    ];
    const delay = reason.retryable ? RETRY_DELAYS_MS[this.#attempt] : undefined;
    if (delay === undefined) {
      this.#overlay.show('Stream lost', reason.message, actions);
      return;
    }
    this.#attempt++;
    this.#overlay.show(
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
    this.#overlay.show('Session ended', message, [
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

  /** True when the API is a matchmaker (not the standalone edge serving the session itself). */
  #fromMatchmaker(session: CreateSessionResponse): boolean {
    const edgeOrigin = new URL(session.edge.url, window.location.href).origin;
    return edgeOrigin !== new URL(this.#options.api.base, window.location.href).origin;
  }

  /**
   * Watches the matchmaker's session events with the session key (SessionWatch: `moved` → reconnect to
   * the new edge with the new token and the same key; `ended`). A standalone edge has no such socket.
   */
  #watchEvents(session: CreateSessionResponse, key: SessionKey): void {
    if (this.#watch?.sessionId === session.sessionId) return;
    this.#closeEvents();
    if (!this.#fromMatchmaker(session)) return;
    this.#watch = new SessionWatch({
      api: this.#options.api,
      session,
      key,
      onMoved: (moved) => {
        if (this.#closed) return;
        this.#attempt = 0;
        // Another edge is another billed session: its grant (one signature) before its stream.
        void this.#billing?.begin(moved, key).then(
          () => this.#closed || this.#connect(moved, key),
          (e: unknown) => this.#onDropped({ message: `The moved session: ${String(e)}`, retryable: true }),
        );
      },
      onEnded: (reason) => {
        if (this.#closed) return;
        this.#session?.close();
        this.#onEnded(`Session ended: ${reason}`);
      },
    });
  }

  #closeEvents(): void {
    this.#watch?.close();
    this.#watch = undefined;
  }

  /** Tells the matchmaker the session is over (signed 'end'): its slot is free at once, even unconnected. */
  #endAtMatchmaker(): void {
    const session = this.#current;
    const key = this.#key;
    if (session === undefined || key === undefined || !this.#fromMatchmaker(session)) return;
    const { api } = this.#options;
    key
      .signAct('end', session)
      .then((proof) => api.endSession(session.sessionId, proof))
      .catch(() => {});
  }

  #onStampedFrame(frame: StampedFrame): void {
    this.#layout.cropStamp(true);
    hook.lastStamp = { ...frame.stamp, glassToGlassMs: frame.glassToGlassMs };
    recordSample('glassToGlassMs', frame.glassToGlassMs);
    if (frame.captureToReceiveMs !== undefined) recordSample('captureToReceiveMs', frame.captureToReceiveMs);
    if (frame.processingMs !== undefined) recordSample('processingMs', frame.processingMs);
    this.#recentGlass.push(frame.glassToGlassMs);
    this.#billing?.frameShown(frame.glassToGlassMs);
    if (this.#recentGlass.length > 60) this.#recentGlass.shift();
    this.#inputToPhoton.shown(frame.stamp.inputSeq, frame.displayTime, (ms) =>
      recordSample('inputToPhotonMs', ms),
    );
  }

  #sampleStats(): void {
    const sampler = this.#sampler;
    hook.framesPresented = this.#probe.presentedFrames;
    if (hook.framesPresented > 0) this.#billing?.frameShown(); // the period clock starts, stamps or not
    if (sampler === undefined || this.#session?.closed !== false) return;
    const extra: { inputRttMs?: number; glassToGlassMs?: number } = {};
    if (this.#recentInputRtt.length > 0) extra.inputRttMs = median(this.#recentInputRtt);
    if (this.#recentGlass.length > 0) extra.glassToGlassMs = median(this.#recentGlass);
    this.#recentGlass.length = 0;
    sampler
      .sample(extra)
      .then((stats) => {
        if (sampler !== this.#sampler) return;
        if (this.#stall.check(stats.framesDecoded, hook.state === 'playing'))
          this.#session?.control({ type: 'keyframe' });
        hook.stats = stats;
        hook.framesDecoded = stats.framesDecoded;
        this.#statsBox.textContent = formatStats(
          stats,
          hook.encoder,
          this.#edgeClock?.estimate,
          this.#quality,
        );
      })
      .catch(() => {});
  }

  #applyBitrate(): void {
    if (this.#bitrateKbps !== undefined) this.#session?.control({ type: 'bitrate', kbps: this.#bitrateKbps });
  }
}
