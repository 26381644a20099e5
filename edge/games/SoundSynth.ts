import { GAME_AUDIO_SAMPLE_RATE } from './GameRuntime.js';

/** Waveform of a synthesised sound effect voice. */
export type Waveform = 'square' | 'triangle' | 'noise' | 'sine';

export interface SoundEffect {
  /** Start frequency, Hz. */
  frequency: number;
  /** Frequency at the end (linear sweep); default = frequency. */
  endFrequency?: number;
  /** Length in ms. */
  durationMs: number;
  waveform: Waveform;
  /** Peak amplitude 0..1 (default 0.3). */
  volume?: number;
}

const MAX_VOICES = 16;

interface Voice {
  active: boolean;
  phase: number;
  frequency: number;
  sweep: number;
  remaining: number;
  total: number;
  waveform: Waveform;
  volume: number;
  noise: number;
}

/** A tiny polyphonic synthesiser for game sound effects: `play` queues a blip, `mix` renders PCM. */
export class SoundSynth {
  readonly #voices: Voice[] = Array.from({ length: MAX_VOICES }, () => ({
    active: false,
    phase: 0,
    frequency: 0,
    sweep: 0,
    remaining: 0,
    total: 1,
    waveform: 'square' as Waveform,
    volume: 0,
    noise: 1,
  }));
  #seed = 0x2545f491;

  /** Starts a sound effect (the oldest voice is reused when all are busy). */
  play(effect: SoundEffect): void {
    let voice = this.#voices.find((v) => !v.active);
    if (!voice) voice = this.#voices.reduce((a, b) => (a.remaining < b.remaining ? a : b));
    const samples = Math.max(1, Math.round((effect.durationMs / 1000) * GAME_AUDIO_SAMPLE_RATE));
    voice.active = true;
    voice.phase = 0;
    voice.frequency = effect.frequency;
    voice.sweep = ((effect.endFrequency ?? effect.frequency) - effect.frequency) / samples;
    voice.remaining = samples;
    voice.total = samples;
    voice.waveform = effect.waveform;
    voice.volume = effect.volume ?? 0.3;
  }

  /** Renders the next `out.length` samples (mono, 48 kHz) into `out`. */
  mix(out: Int16Array): void {
    out.fill(0);
    for (const voice of this.#voices) {
      if (!voice.active) continue;
      const n = Math.min(out.length, voice.remaining);
      for (let i = 0; i < n; i++) {
        const envelope = voice.remaining / voice.total;
        voice.phase += voice.frequency / GAME_AUDIO_SAMPLE_RATE;
        if (voice.phase >= 1) voice.phase -= 1;
        voice.frequency += voice.sweep;
        let sample: number;
        switch (voice.waveform) {
          case 'square':
            sample = voice.phase < 0.5 ? 1 : -1;
            break;
          case 'triangle':
            sample = voice.phase < 0.5 ? 4 * voice.phase - 1 : 3 - 4 * voice.phase;
            break;
          case 'sine':
            sample = Math.sin(2 * Math.PI * voice.phase);
            break;
          default:
            this.#seed ^= this.#seed << 13;
            this.#seed ^= this.#seed >>> 17;
            this.#seed ^= this.#seed << 5;
            sample = (this.#seed & 0xffff) / 32768 - 1;
        }
        const value = (out[i] ?? 0) + sample * envelope * voice.volume * 32767;
        out[i] = Math.min(32767, Math.max(-32768, value));
        voice.remaining--;
      }
      if (voice.remaining <= 0) voice.active = false;
    }
  }

  /** Voices currently sounding. */
  get activeVoices(): number {
    let count = 0;
    for (const voice of this.#voices) if (voice.active) count++;
    return count;
  }
}
