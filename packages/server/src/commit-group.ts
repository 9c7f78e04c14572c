/**
 * Work of one request message, run inside a group's transaction. It returns what to do once the
 * transaction has committed (send the replies), or nothing.
 */
export type GroupJob = () => (() => void) | undefined;

interface Queued {
  run: GroupJob;
  fail: (error: unknown) => void;
}

/**
 * Group commit: requests that arrive in the same event-loop turn, from any link, run in one write
 * transaction at the end of that turn (each store call inside it still applies completely or not at
 * all, as a savepoint) and commit once. Replies wait for the commit, so nothing is acknowledged
 * before it is durable; one commit per turn instead of one per request is what makes the server fast.
 */
export class CommitGroup {
  private queue: Queued[] = [];
  private scheduled = false;

  /**
   * @param batch runs a function in one transaction and commits it (the store's `batch`)
   * @param afterCommit runs after each commit, once the jobs' replies have been handed out
   */
  constructor(
    private readonly batch: (fn: () => void) => void,
    private readonly afterCommit: () => void,
  ) {}

  /**
   * Queues `run` for this turn's transaction. If the transaction fails as a whole (the commit, or a job
   * that threw), nothing of it is kept and every job's `fail` is called instead of its follow-up.
   */
  submit(run: GroupJob, fail: (error: unknown) => void): void {
    this.queue.push({ run, fail });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Runs `fn` in this turn's transaction; resolves with its result once committed, or rejects. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      this.submit(() => {
        try {
          const value = fn();
          return () => resolve(value);
        } catch (e) {
          return () => reject(e);
        }
      }, reject);
    });
  }

  /** Runs the queued jobs now (normally at the end of the turn). */
  flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    this.queue = [];
    if (jobs.length === 0) return;
    const then: (() => void)[] = [];
    try {
      this.batch(() => {
        for (const job of jobs) {
          const next = job.run();
          if (next) then.push(next);
        }
      });
    } catch (e) {
      for (const job of jobs) job.fail(e);
      return;
    }
    for (const next of then) next();
    this.afterCommit();
  }
}
