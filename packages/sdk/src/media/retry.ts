import { ErrorCode } from '@synkey/protocol';
import { nextSendAttempt, type SendPolicy } from '../backoff';
import { isPermanent, ServerError } from '../errors';
import { aborted, sleep } from './limiter';

/**
 * The retry budget of one upload, under the same {@link SendPolicy} as a SEND: each request (a
 * chunk, a part, a create or complete call) gets `policy.maxAttempts` attempts with the same
 * jittered backoff, and the upload fails once no request has succeeded for `policy.budgetMs`.
 * Every success counts as progress and restarts that clock, so a slow upload that keeps moving
 * never fails, and a stalled one fails as a text message would.
 */
export class RetryBudget {
  private lastProgress = Date.now();

  constructor(
    private readonly policy: SendPolicy,
    private readonly random: () => number,
    private readonly signal: AbortSignal,
  ) {}

  /** Something was stored on the server: the budget starts again. */
  progressed(): void {
    this.lastProgress = Date.now();
  }

  /**
   * Runs `request` until it succeeds. Rethrows at once what retrying cannot change (a permanent
   * server answer, UPLOAD_INCOMPLETE for the caller to handle) and the last error once the budget
   * is spent; rejects with the abort reason when `signal` (default: the upload's) aborts. A RATE_LIMITED refusal
   * costs no attempt and waits at least its `retryMs`.
   */
  async run<T>(request: () => Promise<T>, signal: AbortSignal = this.signal): Promise<T> {
    let attempts = 0;
    for (;;) {
      if (signal.aborted) throw aborted(signal);
      try {
        const value = await request();
        this.progressed();
        return value;
      } catch (error) {
        if (signal.aborted) throw aborted(signal);
        if (!retryable(error)) throw error;
        const server = error instanceof ServerError ? error : undefined;
        if (server?.code !== ErrorCode.RateLimited) attempts++;
        const elapsed = Date.now() - this.lastProgress;
        const decision = nextSendAttempt(attempts, elapsed, server?.retryMs, this.policy, this.random);
        if (!decision.retry) throw error;
        await sleep(decision.delayMs, signal);
      }
    }
  }
}

/** False for errors another attempt cannot fix, or that the caller handles itself. */
export function retryable(error: unknown): boolean {
  if (isPermanent(error)) return false;
  return !(error instanceof ServerError && error.code === ErrorCode.UploadIncomplete);
}
