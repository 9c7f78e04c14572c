/**
 * An in-memory Web Locks `LockManager` for Node tests: exclusive locks only, granted in request
 * order (FIFO per name); `ifAvailable` calls back with `null` when the lock cannot be granted at
 * once; an abort `signal` takes a queued request out of the queue and rejects it with the signal's
 * reason. A granted lock is held until the promise its callback returned settles; `request`
 * resolves (or rejects) with that result. Callbacks run in a later task (a timer), as browsers run
 * them from the lock task queue: never within the releasing holder's microtasks.
 */
interface Queued {
  name: string;
  callback: (lock: Lock | null) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class FakeLocks {
  private readonly held = new Set<string>();
  private readonly queue: Queued[] = [];

  /** Names of the locks held now. */
  heldNames(): string[] {
    return [...this.held];
  }

  /** How many requests wait for `name`. */
  waiting(name: string): number {
    return this.queue.filter((q) => q.name === name).length;
  }

  request(
    name: string,
    optionsOrCallback: LockOptions | ((lock: Lock | null) => unknown),
    maybeCallback?: (lock: Lock | null) => unknown,
  ): Promise<unknown> {
    const options: LockOptions = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback;
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback;
    if (!callback) return Promise.reject(new TypeError('a callback is required'));
    if ((options.mode ?? 'exclusive') !== 'exclusive') return Promise.reject(new TypeError('only exclusive locks'));
    if (options.steal) return Promise.reject(new TypeError('steal is not supported by this double'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const grantable = !this.held.has(name) && this.waiting(name) === 0;
      if (options.ifAvailable && !grantable) {
        setTimeout(() => {
          Promise.resolve()
            .then(() => callback(null))
            .then(resolve, reject);
        }, 0);
        return;
      }
      const q: Queued = { name, callback, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        q.onAbort = () => {
          const i = this.queue.indexOf(q);
          if (i < 0) return;
          this.queue.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', q.onAbort, { once: true });
      }
      this.queue.push(q);
      setTimeout(() => this.grant(name), 0);
    });
  }

  async query(): Promise<LockManagerSnapshot> {
    return {
      held: [...this.held].map((name) => ({ name, mode: 'exclusive', clientId: 'node' })),
      pending: this.queue.map((q) => ({ name: q.name, mode: 'exclusive', clientId: 'node' })),
    };
  }

  /** This double as the DOM type. */
  asLockManager(): LockManager {
    return this as unknown as LockManager;
  }

  private grant(name: string): void {
    if (this.held.has(name)) return;
    const i = this.queue.findIndex((q) => q.name === name);
    if (i < 0) return;
    const [q] = this.queue.splice(i, 1);
    if (!q) return;
    if (q.signal && q.onAbort) q.signal.removeEventListener('abort', q.onAbort);
    this.held.add(name);
    const lock = { name, mode: 'exclusive' } as Lock;
    Promise.resolve()
      .then(() => q.callback(lock))
      .then(
        (value) => {
          this.release(name);
          q.resolve(value);
        },
        (error) => {
          this.release(name);
          q.reject(error);
        },
      );
  }

  private release(name: string): void {
    this.held.delete(name);
    setTimeout(() => this.grant(name), 0);
  }
}
