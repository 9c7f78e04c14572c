import { TokenBucket } from '../rate-limit';

const IDLE_MS = 60_000;

/** One {@link TokenBucket} per user, dropped after a minute idle. */
export class UserBuckets {
  private readonly buckets = new Map<string, { bucket: TokenBucket; used: number }>();

  constructor(private readonly rate: { perSecond: number; burst: number }) {}

  /** Takes a token of `user`'s bucket: 0 when allowed, else the ms until one is free. */
  take(user: string, now: number): number {
    let b = this.buckets.get(user);
    if (!b) {
      b = { bucket: new TokenBucket(this.rate.perSecond, this.rate.burst, now), used: now };
      this.buckets.set(user, b);
    }
    b.used = now;
    return b.bucket.take(now);
  }

  /** Forgets users idle for a minute (a fresh bucket is full, so this never loosens a limit in use). */
  sweep(now: number): void {
    for (const [user, b] of this.buckets) if (now - b.used > IDLE_MS) this.buckets.delete(user);
  }
}
