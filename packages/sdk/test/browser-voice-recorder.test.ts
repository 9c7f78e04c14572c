import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  pickVoiceType,
  type RecorderEnv,
  RecorderError,
  RecorderErrorCode,
  recorderError,
  recordVoice,
  startRecording,
} from '../src/browser/voice-recorder';
import { sleep, waitFor } from './helpers';

/*
 * Node has no microphone or MediaRecorder; these tests drive the recorder through a stand-in with
 * the browser's event behaviour (dataavailable slices, then stop). Recording in a real browser is
 * covered by the Playwright suite with Chromium's fake audio device.
 */

class Track {
  stopped = false;
  stop() {
    this.stopped = true;
  }
}

class Stream {
  readonly tracks = [new Track()];
  getTracks() {
    return this.tracks;
  }
}

class FakeRecorder extends EventTarget {
  static supported = new Set(['audio/webm;codecs=opus']);
  static last: FakeRecorder | undefined;
  static isTypeSupported(type: string) {
    return FakeRecorder.supported.has(type);
  }
  state: 'inactive' | 'recording' = 'inactive';
  readonly mimeType: string;
  timeslice = 0;
  constructor(
    readonly stream: Stream,
    readonly options: MediaRecorderOptions = {},
  ) {
    super();
    this.mimeType = options.mimeType ?? 'audio/webm';
    FakeRecorder.last = this;
  }
  start(timeslice: number) {
    this.state = 'recording';
    this.timeslice = timeslice;
  }
  /** Hands over a slice of recorded data, as the browser does every `timeslice` ms. */
  slice(bytes: string) {
    const event = new Event('dataavailable') as Event & { data: Blob };
    event.data = new Blob([bytes]);
    this.dispatchEvent(event);
  }
  stop() {
    this.slice('tail');
    this.state = 'inactive';
    queueMicrotask(() => this.dispatchEvent(new Event('stop')));
  }
}

function env(overrides: Partial<RecorderEnv> = {}) {
  let clock = 1_000;
  const streams: Stream[] = [];
  const e: RecorderEnv & { tick(ms: number): void; streams: Stream[] } = {
    getUserMedia: async () => {
      const s = new Stream();
      streams.push(s);
      return s as unknown as MediaStream;
    },
    MediaRecorder: FakeRecorder as unknown as RecorderEnv['MediaRecorder'],
    now: () => clock,
    tick: (ms) => {
      clock += ms;
    },
    streams,
    ...overrides,
  };
  return e;
}

describe('recordVoice', () => {
  it('records Opus where supported, times the recording, and stop() resolves the clip and releases the microphone', async () => {
    const e = env();
    const rec = await startRecording({}, e);
    const recorder = FakeRecorder.last as FakeRecorder;
    assert.equal(rec.mime, 'audio/webm;codecs=opus');
    assert.equal(recorder.options.audioBitsPerSecond, 32_000);
    recorder.slice('one-');
    e.tick(1_500);
    assert.equal(rec.elapsedMs(), 1_500);
    recorder.slice('two-');
    const clip = await rec.stop();
    assert.equal(await clip.blob.text(), 'one-two-tail');
    assert.equal(clip.blob.type, 'audio/webm;codecs=opus');
    assert.equal(clip.durationMs, 1_500);
    assert.equal(e.streams[0]?.tracks[0]?.stopped, true);
    e.tick(500);
    assert.equal(rec.elapsedMs(), 1_500, 'the timer stops with the recording');
    assert.equal(await rec.stop(), clip, 'stop() again answers the same clip');
  });

  it('stops by itself at maxMs, calls onLimit, and stop() then resolves the clip', async () => {
    let limited = 0;
    const rec = await startRecording({ maxMs: 20, onLimit: () => limited++ }, env());
    await waitFor(() => limited === 1, 2000, 'the limit');
    const clip = await rec.stop();
    assert.equal(await clip.blob.text(), 'tail');
  });

  it('cancel() throws the recording away and releases the microphone; stop() then rejects with CANCELLED', async () => {
    const e = env();
    const rec = await startRecording({}, e);
    (FakeRecorder.last as FakeRecorder).slice('secret');
    rec.cancel();
    assert.equal(e.streams[0]?.tracks[0]?.stopped, true);
    await assert.rejects(rec.stop(), (err) => err instanceof RecorderError && err.code === RecorderErrorCode.Cancelled);
  });

  it('falls back to the browser’s own type when no Opus container is supported', async () => {
    FakeRecorder.supported = new Set(['audio/mp4']);
    try {
      const rec = await startRecording({}, env());
      assert.equal(rec.mime, 'audio/mp4');
      rec.cancel();
    } finally {
      FakeRecorder.supported = new Set(['audio/webm;codecs=opus']);
    }
    assert.equal(pickVoiceType(undefined), undefined);
    assert.equal(
      pickVoiceType(() => false),
      undefined,
    );
  });

  it('maps a refused, missing or busy microphone to typed errors, and a context without the APIs to UNSUPPORTED', async () => {
    const refused = (name: string) => env({ getUserMedia: async () => Promise.reject(new DOMException('no', name)) });
    const cases: [string, RecorderErrorCode][] = [
      ['NotAllowedError', RecorderErrorCode.PermissionDenied],
      ['SecurityError', RecorderErrorCode.PermissionDenied],
      ['NotFoundError', RecorderErrorCode.NoDevice],
      ['NotReadableError', RecorderErrorCode.DeviceBusy],
      ['NotSupportedError', RecorderErrorCode.Unsupported],
    ];
    for (const [name, code] of cases) {
      await assert.rejects(
        startRecording({}, refused(name)),
        (err) => err instanceof RecorderError && err.code === code,
      );
    }
    const bare: RecorderEnv = { now: () => 0 };
    await assert.rejects(
      startRecording({}, bare),
      (err) => err instanceof RecorderError && err.code === RecorderErrorCode.Unsupported,
    );
    // Node itself has neither a microphone nor MediaRecorder.
    await assert.rejects(
      recordVoice(),
      (err) => err instanceof RecorderError && err.code === RecorderErrorCode.Unsupported,
    );
    assert.equal(recorderError(new Error('odd')).code, RecorderErrorCode.Failed);
  });

  it('a recorder that fails to start releases the microphone', async () => {
    class Broken extends FakeRecorder {
      override start(): void {
        throw new DOMException('cannot', 'NotSupportedError');
      }
    }
    const e = env({ MediaRecorder: Broken as unknown as RecorderEnv['MediaRecorder'] });
    await assert.rejects(
      startRecording({}, e),
      (err) => err instanceof RecorderError && err.code === RecorderErrorCode.Unsupported,
    );
    await sleep(0);
    assert.equal(e.streams[0]?.tracks[0]?.stopped, true);
  });
});
