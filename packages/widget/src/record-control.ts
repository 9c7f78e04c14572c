import { recordVoice, type VoiceRecording } from '@synkey/sdk/core';
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** A press on the record button longer than this is press-and-hold: releasing it sends. */
const HOLD_MS = 350;
/** Moving the pointer this far from where the press began arms cancel-on-release. */
const AWAY_PX = 60;

/** A finished recording. */
export interface Voice {
  blob: Blob;
  durationMs: number;
  mime: string;
}

/** What a recording ended with. */
export interface RecordEvents {
  /** The recording stopped and is to be sent. */
  done(voice: Voice): void;
  /** Recording could not start or stop (`recordVoice` rejected): the microphone is denied or missing. */
  failed(error: unknown): void;
}

/**
 * The voice recorder behind the composer's record button, like a messenger's: tap to start and tap
 * (the same button, now "send") to stop and send; or press and hold, release to send, slide the
 * pointer away (or press Esc) to cancel. Recording stops and sends by itself at `maxMs`.
 */
export class RecordControl implements ReactiveController {
  /** Longest recording, ms. */
  maxMs = 60_000;
  /** Recording (or waiting for the microphone). */
  active = false;
  /** The pointer that started the recording is still down. */
  held = false;
  /** The held pointer moved away: releasing it cancels. */
  away = false;
  private rec: VoiceRecording | undefined;
  /** What to do once the microphone answers, when the user finished before it did. */
  private after: 'send' | 'cancel' | undefined;
  private down = { x: 0, y: 0, t: 0 };
  private pressed = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly on: RecordEvents,
  ) {
    host.addController(this);
  }

  /** Milliseconds recorded so far. */
  get elapsed(): number {
    return this.rec?.elapsedMs() ?? 0;
  }

  hostDisconnected(): void {
    this.cancel();
  }

  /** Starts recording (nothing if it already is). */
  async start(): Promise<void> {
    if (this.active) return;
    this.active = true;
    this.after = undefined;
    this.host.requestUpdate();
    let rec: VoiceRecording;
    try {
      rec = await recordVoice({ maxMs: this.maxMs, onLimit: () => void this.finish() });
    } catch (e) {
      this.reset();
      this.on.failed(e);
      return;
    }
    if (!this.active || this.after === 'cancel') {
      rec.cancel();
      return;
    }
    this.rec = rec;
    this.timer = setInterval(() => this.host.requestUpdate(), 250);
    if (this.after === 'send') await this.finish();
    this.host.requestUpdate();
  }

  /** Stops and sends the recording. */
  async finish(): Promise<void> {
    const rec = this.rec;
    if (!rec) {
      if (this.active) this.after = 'send';
      return;
    }
    this.reset();
    try {
      this.on.done(await rec.stop());
    } catch (e) {
      this.on.failed(e);
    }
  }

  /** Drops the recording. */
  cancel(): void {
    if (!this.active) return;
    this.after = 'cancel';
    this.rec?.cancel();
    this.reset();
  }

  /** Pointer down on the record button: recording starts at once (a hold or the start of a tap). */
  press = (e: PointerEvent): void => {
    if (e.button !== 0) return;
    e.preventDefault();
    this.pressed = true;
    this.down = { x: e.clientX, y: e.clientY, t: Date.now() };
    if (this.active) return;
    (e.currentTarget as Element).setPointerCapture?.(e.pointerId);
    this.held = true;
    this.away = false;
    void this.start();
  };

  /** While held: moving far from the button arms cancel-on-release. */
  move = (e: PointerEvent): void => {
    if (!this.held) return;
    const away = Math.hypot(e.clientX - this.down.x, e.clientY - this.down.y) > AWAY_PX;
    if (away !== this.away) {
      this.away = away;
      this.host.requestUpdate();
    }
  };

  /** Release: a hold sends (or cancels when slid away); a short tap leaves it recording until the next tap. */
  release = (e: PointerEvent): void => {
    if (!this.pressed) return;
    this.pressed = false;
    if (e.type === 'pointercancel') this.cancel();
    else if (!this.held || Date.now() - this.down.t >= HOLD_MS) {
      if (this.away) this.cancel();
      else void this.finish();
    }
    this.held = this.away = false;
    this.host.requestUpdate();
  };

  private reset(): void {
    clearInterval(this.timer);
    this.rec = undefined;
    this.active = this.held = this.away = false;
    this.host.requestUpdate();
  }
}
