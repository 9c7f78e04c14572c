import type { Grew } from './store/types';

type Listener = (seq: number) => void;

interface Poll {
  after: number;
  resolve: (seq: number) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Tells users' links that their timelines grew. Growth marked in one tick is coalesced: each user's
 * long links get one NOTIFY with the newest seq, and their pending POLLs are answered.
 */
export class Notifier {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly polls = new Map<string, Set<Poll>>();
  private readonly dirty = new Set<string>();
  private scheduled = false;

  constructor(private readonly maxSeq: (user: string) => number) {}

  /** The user's newest timeline seq, as NOTIFY and the heartbeat PING tell it (the store keeps it in memory). */
  newest(user: string): number {
    return this.maxSeq(user);
  }

  /** Calls `fn` with the newest seq whenever `user`'s timeline grows. Returns the unsubscribe. */
  subscribe(user: string, fn: Listener): () => void {
    let set = this.listeners.get(user);
    if (!set) {
      set = new Set();
      this.listeners.set(user, set);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(user);
    };
  }

  /** Marks timelines as grown; listeners run once per user at the end of this tick. */
  mark(users: Grew): void {
    if (users.length === 0) return;
    for (const u of users) this.dirty.add(u);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /**
   * Resolves with the user's newest seq once it is past `after`, or after `waitMs` with whatever it
   * is then, or at once when `signal` aborts.
   */
  waitFor(user: string, after: number, waitMs: number, signal?: AbortSignal): Promise<number> {
    const now = this.maxSeq(user);
    if (now > after || waitMs === 0 || signal?.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      let set = this.polls.get(user);
      if (!set) {
        set = new Set();
        this.polls.set(user, set);
      }
      const done = (seq: number) => {
        clearTimeout(poll.timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(poll);
        if (set.size === 0 && this.polls.get(user) === set) this.polls.delete(user);
        resolve(seq);
      };
      const onAbort = () => done(this.maxSeq(user));
      const poll: Poll = { after, resolve: done, timer: setTimeout(() => done(this.maxSeq(user)), waitMs) };
      set.add(poll);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Answers every pending poll (used at shutdown). */
  releaseAll(): void {
    for (const [user, set] of this.polls) {
      const seq = this.maxSeq(user);
      for (const p of [...set]) p.resolve(seq);
    }
  }

  /** Tells the listeners and polls of the users marked so far now, rather than at the end of the tick. */
  flush(): void {
    const users = [...this.dirty];
    this.dirty.clear();
    for (const user of users) {
      const seq = this.maxSeq(user);
      for (const fn of this.listeners.get(user) ?? []) fn(seq);
      for (const p of [...(this.polls.get(user) ?? [])]) if (seq > p.after) p.resolve(seq);
    }
  }
}
