import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** The player that played last: starting another one pauses it (one voice note at a time on the page). */
let current: VoicePlayer | undefined;

/** Where a key press moves a playback position of `dur` ms (arrows ±1 s, Page keys ±5 s, Home, End), or undefined. */
export function seekBy(key: string, pos: number, dur: number): number | undefined {
  const step = { ArrowLeft: -1000, ArrowDown: -1000, ArrowRight: 1000, ArrowUp: 1000, PageDown: -5000, PageUp: 5000 }[
    key
  ];
  const to = key === 'Home' ? 0 : key === 'End' ? dur : step === undefined ? undefined : pos + step;
  return to === undefined ? undefined : Math.max(0, Math.min(dur, to));
}

/**
 * Plays the voice notes of one thread through one `<audio>`: which note is loaded (`key`), whether
 * it plays and its position in ms. Bubbles render from it; the host re-renders as it plays.
 */
export class VoicePlayer implements ReactiveController {
  /** The note loaded (playing, paused or seeked), by row key. */
  key = '';
  playing = false;
  /** Position in the loaded note, ms. */
  pos = 0;
  private audio: HTMLAudioElement | undefined;
  /** The key whose file the audio element holds. */
  private loaded = '';

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostDisconnected(): void {
    this.audio?.pause();
  }

  /** The position of note `key` (0 unless it is the loaded one). */
  at(key: string): number {
    return key === this.key ? this.pos : 0;
  }

  /** Plays note `key` (its file from `src()`), or pauses it if it is playing. */
  async toggle(key: string, src: () => Promise<string>): Promise<void> {
    const a = this.element();
    if (key === this.key && this.playing) return a.pause();
    if (current !== this) current?.audio?.pause();
    current = this;
    if (key !== this.key) this.pick(key, 0);
    if (this.loaded !== key) {
      const url = await src();
      if (this.key !== key) return;
      a.src = url;
      this.loaded = key;
      a.currentTime = this.pos / 1000;
    }
    await a.play();
  }

  /** Moves note `key` to `ms` (loading nothing until it plays). */
  seek(key: string, ms: number): void {
    if (key !== this.key) this.pick(key, ms);
    this.pos = ms;
    if (this.loaded === key && this.audio) this.audio.currentTime = ms / 1000;
    this.host.requestUpdate();
  }

  private pick(key: string, ms: number): void {
    this.audio?.pause();
    this.key = key;
    this.pos = ms;
  }

  private element(): HTMLAudioElement {
    if (this.audio) return this.audio;
    const a = new Audio();
    a.preload = 'auto';
    const update = (e: Event) => {
      this.playing = !a.paused && !a.ended;
      // Played to the end: back to the start, ready to play again.
      if (e.type === 'ended') this.pos = 0;
      else if (this.loaded === this.key && !a.seeking) this.pos = a.currentTime * 1000;
      this.host.requestUpdate();
    };
    for (const type of ['play', 'pause', 'timeupdate', 'ended', 'error']) a.addEventListener(type, update);
    this.audio = a;
    return a;
  }
}
