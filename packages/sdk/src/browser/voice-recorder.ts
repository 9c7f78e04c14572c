import { Limits } from '@synkey/protocol/lite';

/** Why a recording could not start or finish. */
export const RecorderErrorCode = {
  /** The user (or a permissions policy) refused the microphone. */
  PermissionDenied: 'PERMISSION_DENIED',
  /** There is no microphone. */
  NoDevice: 'NO_DEVICE',
  /** The microphone is there but another application holds it, or the hardware failed. */
  DeviceBusy: 'DEVICE_BUSY',
  /** This browser or context cannot record (no MediaRecorder, no getUserMedia, an insecure page). */
  Unsupported: 'UNSUPPORTED',
  /** The recorder failed while recording. */
  Failed: 'RECORDING_FAILED',
  /** `stop()` after `cancel()`: there is no recording. */
  Cancelled: 'CANCELLED',
} as const;

/** One of the {@link RecorderErrorCode} values. */
export type RecorderErrorCode = (typeof RecorderErrorCode)[keyof typeof RecorderErrorCode];

/** The error {@link recordVoice} and {@link VoiceRecording.stop} reject with. */
export class RecorderError extends Error {
  override name = 'RecorderError';

  constructor(
    readonly code: RecorderErrorCode,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** A finished recording, ready for `sendVoice(conversationId, blob, durationMs)`. */
export interface VoiceClip {
  blob: Blob;
  durationMs: number;
  mime: string;
}

/** A recording that runs; the microphone is on until `stop` or `cancel`. */
export interface VoiceRecording {
  /** The recorder's type, e.g. `audio/webm;codecs=opus`. */
  readonly mime: string;
  /** When recording started (`Date.now()`). */
  readonly startedAt: number;
  /** Time recorded so far (frozen once stopped), for a timer. */
  elapsedMs(): number;
  /** Stops (if still running), releases the microphone and resolves the clip; the same clip on every call. */
  stop(): Promise<VoiceClip>;
  /** Stops and throws the recording away; the microphone is released. */
  cancel(): void;
}

/** Options of {@link recordVoice}. */
export interface RecordVoiceOptions {
  /** The recording stops by itself after this long (default and most: `Limits.maxVoiceMs`, 5 min). */
  maxMs?: number;
  /** Called when `maxMs` stopped the recording; `stop()` then resolves the clip. */
  onLimit?: () => void;
  /** Encoder bitrate (default 32 kbit/s: clear speech in Opus, 5 min ≈ 1.2 MB, under `Limits.maxVoiceBytes`). */
  bitsPerSecond?: number;
}

/** Container types tried in order; Opus wherever the browser records it. */
export const VOICE_TYPES = [
  'audio/webm;codecs=opus',
  'audio/ogg;codecs=opus',
  'audio/mp4;codecs=opus',
  'audio/mp4',
  'audio/webm',
];
const DEFAULT_BITS = 32_000;
/** The recorder hands over data this often, so a long recording is not held in one piece. */
const SLICE_MS = 1000;

/** The first of {@link VOICE_TYPES} the recorder supports; undefined: let the browser choose. */
export function pickVoiceType(isTypeSupported: ((type: string) => boolean) | undefined): string | undefined {
  if (!isTypeSupported) return undefined;
  return VOICE_TYPES.find((type) => {
    try {
      return isTypeSupported(type);
    } catch {
      return false;
    }
  });
}

/** Maps a `getUserMedia` or MediaRecorder failure to a {@link RecorderError}. */
export function recorderError(error: unknown): RecorderError {
  if (error instanceof RecorderError) return error;
  const name = (error as { name?: string } | null)?.name;
  const message = (error as { message?: string } | null)?.message ?? String(error);
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return new RecorderError(RecorderErrorCode.PermissionDenied, 'the microphone was not allowed', error);
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return new RecorderError(RecorderErrorCode.NoDevice, 'there is no microphone', error);
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new RecorderError(RecorderErrorCode.DeviceBusy, 'the microphone could not be started', error);
    case 'NotSupportedError':
    case 'TypeError':
      return new RecorderError(RecorderErrorCode.Unsupported, `this browser cannot record audio (${message})`, error);
    default:
      return new RecorderError(RecorderErrorCode.Failed, `recording failed: ${message}`, error);
  }
}

/** The browser APIs a recording uses; {@link browserRecorderEnv} gives the page's. */
export interface RecorderEnv {
  getUserMedia?: (constraints: MediaStreamConstraints) => Promise<MediaStream>;
  MediaRecorder?: {
    new (stream: MediaStream, options?: MediaRecorderOptions): MediaRecorder;
    isTypeSupported?(type: string): boolean;
  };
  now(): number;
}

/** The page's (or worker's) recording APIs, as far as they exist. */
export function browserRecorderEnv(): RecorderEnv {
  const devices = (globalThis as { navigator?: Navigator }).navigator?.mediaDevices;
  return {
    ...(devices?.getUserMedia ? { getUserMedia: (c: MediaStreamConstraints) => devices.getUserMedia(c) } : {}),
    ...(typeof MediaRecorder === 'function' ? { MediaRecorder } : {}),
    now: () => Date.now(),
  };
}

/**
 * Asks for the microphone and starts recording a voice note: Opus (WebM or Ogg) where the browser
 * supports it, else its own type (Safari: MP4/AAC). Rejects with a {@link RecorderError}:
 * PERMISSION_DENIED, NO_DEVICE, DEVICE_BUSY or UNSUPPORTED. Runs in the page (workers have no
 * microphone); send the clip with `client.sendVoice(conversationId, clip.blob, clip.durationMs)`.
 *
 * @example
 * ```ts
 * const rec = await recordVoice({ maxMs: 60_000, onLimit: () => showSendButton() });
 * tick(() => render(rec.elapsedMs()));
 * const { blob, durationMs } = await rec.stop();
 * await client.sendVoice(conversationId, blob, durationMs);
 * ```
 */
export function recordVoice(options: RecordVoiceOptions = {}): Promise<VoiceRecording> {
  return startRecording(options, browserRecorderEnv());
}

/** {@link recordVoice} over the given APIs. */
export async function startRecording(options: RecordVoiceOptions, env: RecorderEnv): Promise<VoiceRecording> {
  const Recorder = env.MediaRecorder;
  if (!env.getUserMedia || !Recorder) {
    throw new RecorderError(RecorderErrorCode.Unsupported, 'this browser cannot record audio here');
  }
  let stream: MediaStream;
  try {
    stream = await env.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (error) {
    throw recorderError(error);
  }
  const release = () => {
    for (const track of stream.getTracks()) track.stop();
  };
  const type = pickVoiceType(Recorder.isTypeSupported?.bind(Recorder));
  let recorder: MediaRecorder;
  try {
    recorder = new Recorder(stream, {
      ...(type ? { mimeType: type } : {}),
      audioBitsPerSecond: options.bitsPerSecond ?? DEFAULT_BITS,
    });
    recorder.start(SLICE_MS);
  } catch (error) {
    release();
    throw recorderError(error);
  }
  return new Recording(recorder, release, type, options, env);
}

class Recording implements VoiceRecording {
  readonly mime: string;
  readonly startedAt: number;
  private readonly parts: Blob[] = [];
  private stoppedAt: number | undefined;
  private clip: Promise<VoiceClip> | undefined;
  private cancelled = false;
  private failure: RecorderError | undefined;
  private readonly limit: ReturnType<typeof setTimeout>;

  constructor(
    private readonly recorder: MediaRecorder,
    private readonly release: () => void,
    type: string | undefined,
    options: RecordVoiceOptions,
    private readonly env: RecorderEnv,
  ) {
    this.mime = recorder.mimeType || type || 'audio/webm';
    this.startedAt = env.now();
    recorder.addEventListener('dataavailable', (event) => {
      const data = (event as BlobEvent).data;
      if (data && data.size > 0 && !this.cancelled) this.parts.push(data);
    });
    recorder.addEventListener('error', (event) => {
      this.failure = recorderError((event as ErrorEvent).error ?? event);
      void this.stop().catch(() => undefined);
    });
    const maxMs = Math.min(Math.max(1, options.maxMs ?? Limits.maxVoiceMs), Limits.maxVoiceMs);
    this.limit = setTimeout(() => {
      void this.stop().catch(() => undefined);
      options.onLimit?.();
    }, maxMs);
  }

  elapsedMs(): number {
    return (this.stoppedAt ?? this.env.now()) - this.startedAt;
  }

  stop(): Promise<VoiceClip> {
    if (this.cancelled)
      return Promise.reject(new RecorderError(RecorderErrorCode.Cancelled, 'the recording was cancelled'));
    this.clip ??= new Promise<VoiceClip>((resolve, reject) => {
      this.halt();
      const done = () => {
        this.release();
        if (this.failure) reject(this.failure);
        else {
          const blob = new Blob(this.parts, { type: this.mime });
          resolve({ blob, durationMs: this.elapsedMs(), mime: this.mime });
        }
      };
      if (this.recorder.state === 'inactive') done();
      else this.recorder.addEventListener('stop', done, { once: true });
      try {
        if (this.recorder.state !== 'inactive') this.recorder.stop();
      } catch {
        done();
      }
    });
    return this.clip;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.halt();
    this.parts.length = 0;
    try {
      if (this.recorder.state !== 'inactive') this.recorder.stop();
    } catch {
      // Already stopped.
    }
    this.release();
  }

  private halt(): void {
    clearTimeout(this.limit);
    this.stoppedAt ??= this.env.now();
  }
}
