/** A request rate: `perSecond` sustained, `burst` at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * The client's default pace, below the server's default limit per user (50/s, burst 100). A request
 * the server refuses for its rate is not processed while the ones behind it may be, so staying under
 * the limit is what keeps pipelined SENDs of one conversation in order.
 */
export const defaultRateLimit: RateLimit = { perSecond: 40, burst: 80 };

/**
 * A token bucket that spaces requests. A caller that finds it empty reserves the next token, so
 * callers queue up in the order they called {@link Pacer.take}.
 */
export class Pacer {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = rate.burst;
    this.at = now();
  }

  /** Takes one token; returns how many ms the caller must wait before sending (0 = now). */
  take(): number {
    const t = this.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((t - this.at) * this.rate.perSecond) / 1000);
    this.at = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate.perSecond);
  }
}
