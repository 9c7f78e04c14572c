import { ErrorCode, ProtocolError } from '@synkey/protocol';

/**
 * Runs at most `max` tasks at once; the others wait in call order. One limiter serves every upload
 * of an engine, so parallel chunks of several images share the same few connections.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`bad concurrency ${max}`);
  }

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Runs `task` once a slot is free; rejects without running it when `signal` aborts first. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(aborted(signal));
    if (this.running < this.max) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const go = () => {
        signal?.removeEventListener('abort', quit);
        this.running++;
        resolve();
      };
      const quit = () => {
        const at = this.waiting.indexOf(go);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(aborted(signal as AbortSignal));
      };
      this.waiting.push(go);
      signal?.addEventListener('abort', quit, { once: true });
    });
  }
}

/** The error an aborted media task rejects with: the signal's reason, or UNAVAILABLE. */
export function aborted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new ProtocolError(ErrorCode.Unavailable, 'cancelled');
}

/** Waits `ms`; rejects early when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(aborted(signal));
  return new Promise((resolve, reject) => {
    const done = () => {
      signal.removeEventListener('abort', quit);
      resolve();
    };
    const quit = () => {
      clearTimeout(timer);
      reject(aborted(signal));
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', quit, { once: true });
  });
}
