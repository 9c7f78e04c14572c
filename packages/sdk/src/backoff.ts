/** The bounds of an exponential backoff. */
export interface BackoffRange {
  /** The cap of the first delay; each attempt doubles the cap. */
  minMs: number;
  /** The largest cap. */
  maxMs: number;
}

/**
 * Exponential backoff with full jitter: a random delay below `min(maxMs, minMs·2^attempt)`.
 *
 * Pure full jitter can return 0, which lets a client that keeps failing hammer its peer; the delay is
 * therefore floored at `minMs / 2`, so it lies in `[minMs/2, cap)`. The jitter still spreads a
 * crowd of clients over at least half of each window.
 *
 * @param attempt 0 for the first retry.
 * @param random a source of numbers in [0, 1); inject one in tests.
 */
export function backoff(attempt: number, range: BackoffRange, random: () => number = Math.random): number {
  const cap = Math.min(range.maxMs, range.minMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  const floor = Math.min(range.minMs / 2, cap);
  return Math.floor(floor + random() * (cap - floor));
}

/** How the outbox retries a SEND. */
export interface SendPolicy {
  /** How long to wait for a SEND_ACK before the attempt counts as failed. */
  ackTimeoutMs: number;
  /** Most SENDs of one message before it is `failed`. */
  maxAttempts: number;
  /** A message that is not acknowledged this long after it was queued is `failed`. */
  budgetMs: number;
  /** The backoff between attempts. */
  backoff: BackoffRange;
  /**
   * Most SENDs of one conversation in flight at once. Pipelining keeps conversation order because
   * every SEND names the message before it (`prev`) and the server refuses it (OUT_OF_ORDER,
   * nothing stored) until that one is stored; the lane then sends again from its head.
   */
  window: number;
}

/** The default send policy: ack timeout 10 s, at most 5 attempts within 40 s, backoff 0.5–20 s, window 16. */
export const sendPolicy: SendPolicy = {
  ackTimeoutMs: 10_000,
  maxAttempts: 5,
  budgetMs: 40_000,
  backoff: { minMs: 500, maxMs: 20_000 },
  window: 16,
};

/** What to do after an attempt failed: send again after `delayMs`, or give up. */
export type SendDecision = { retry: true; delayMs: number } | { retry: false };

/**
 * Decides the fate of a message after its `attempts`-th attempt failed, `elapsedMs` after it was
 * queued. The next attempt waits at least the server's `retryAfterMs` (from RATE_LIMITED) and must
 * start within the budget; otherwise the message has failed.
 */
export function nextSendAttempt(
  attempts: number,
  elapsedMs: number,
  retryAfterMs: number | undefined,
  policy: SendPolicy = sendPolicy,
  random: () => number = Math.random,
): SendDecision {
  if (attempts >= policy.maxAttempts) return { retry: false };
  const delayMs = Math.max(retryAfterMs ?? 0, backoff(attempts - 1, policy.backoff, random));
  if (elapsedMs + delayMs >= policy.budgetMs) return { retry: false };
  return { retry: true, delayMs };
}

/** How the connection reconnects. */
export interface ReconnectPolicy extends BackoffRange {
  /** A link that stayed up this long resets the attempt counter. */
  stableMs: number;
  /** The backoff of the background WebSocket probes while `auto` runs over HTTP. */
  probe: BackoffRange;
}

/** The default reconnect policy: full jitter 0.5–20 s, reset after a stable minute; probes 5–60 s. */
export const reconnectPolicy: ReconnectPolicy = {
  minMs: 500,
  maxMs: 20_000,
  stableMs: 60_000,
  probe: { minMs: 5_000, maxMs: 60_000 },
};

/**
 * Plans the next reconnect after a link went down (or failed to come up).
 *
 * @param attempt the counter returned by the previous call (0 at start).
 * @param upMs how long the link was up; 0 if it never came up.
 * @param retryAfterMs a delay the server asked for (RATE_LIMITED).
 * @returns the delay and the counter to pass next time.
 */
export function nextReconnect(
  attempt: number,
  upMs: number,
  retryAfterMs?: number,
  policy: ReconnectPolicy = reconnectPolicy,
  random: () => number = Math.random,
): { attempt: number; delayMs: number } {
  const n = upMs >= policy.stableMs ? 0 : attempt;
  return { attempt: n + 1, delayMs: Math.max(retryAfterMs ?? 0, backoff(n, policy, random)) };
}
