import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoff, nextReconnect, nextSendAttempt, reconnectPolicy, sendPolicy } from '../src/backoff';
import { fixedRandom } from './helpers';

const range = { minMs: 500, maxMs: 20_000 };

describe('backoff', () => {
  it('stays within [minMs/2, min(maxMs, minMs·2^attempt)) for every attempt', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const cap = Math.min(20_000, 500 * 2 ** attempt);
      assert.equal(backoff(attempt, range, fixedRandom(0)), 250);
      const high = backoff(attempt, range, fixedRandom(0.999999));
      assert.ok(high < cap && high >= cap - 1, `attempt ${attempt}: ${high} vs cap ${cap}`);
    }
  });

  it('doubles the window per attempt until maxMs caps it', () => {
    const top = (n: number) => backoff(n, range, fixedRandom(0.999999)) + 1;
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(top), [500, 1000, 2000, 4000, 8000, 16000, 20000, 20000]);
  });

  it('spreads delays over the window (jitter) rather than returning one value', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(backoff(6, range));
    assert.ok(seen.size > 100);
  });

  it('treats a negative attempt as the first', () => {
    assert.equal(backoff(-3, range, fixedRandom(0.999999)), 499);
  });
});

describe('send retry policy', () => {
  it('retries after a backoff delay while attempts and budget remain', () => {
    const d = nextSendAttempt(1, 10_000, undefined, sendPolicy, fixedRandom(0));
    assert.deepEqual(d, { retry: true, delayMs: 250 });
  });

  it('gives up after maxAttempts attempts', () => {
    assert.deepEqual(nextSendAttempt(5, 1_000, undefined, sendPolicy, fixedRandom(0)), { retry: false });
    assert.equal(nextSendAttempt(4, 1_000, undefined, sendPolicy, fixedRandom(0)).retry, true);
  });

  it('gives up when the next attempt would start after the budget', () => {
    assert.deepEqual(nextSendAttempt(2, 39_900, undefined, sendPolicy, fixedRandom(0)), { retry: false });
  });

  it("waits at least the server's retryMs", () => {
    assert.deepEqual(nextSendAttempt(1, 0, 3_000, sendPolicy, fixedRandom(0)), { retry: true, delayMs: 3_000 });
  });

  it('with 10 s ack timeouts, makes at most 5 attempts and decides within ~40 s', () => {
    let elapsed = 0;
    let attempts = 0;
    for (;;) {
      attempts++;
      elapsed += sendPolicy.ackTimeoutMs;
      const d = nextSendAttempt(attempts, elapsed, undefined, sendPolicy, fixedRandom(0.999999));
      if (!d.retry) break;
      elapsed += d.delayMs;
    }
    assert.ok(attempts <= 5);
    assert.ok(elapsed <= 40_000 + sendPolicy.ackTimeoutMs);
  });
});

describe('reconnect policy', () => {
  it('grows the delay with each consecutive failure', () => {
    let attempt = 0;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const plan = nextReconnect(attempt, 0, undefined, reconnectPolicy, fixedRandom(0.999999));
      attempt = plan.attempt;
      delays.push(plan.delayMs + 1);
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 20000, 20000]);
  });

  it('resets the attempt counter after a link that stayed up for stableMs', () => {
    const plan = nextReconnect(7, 60_000, undefined, reconnectPolicy, fixedRandom(0.999999));
    assert.deepEqual(plan, { attempt: 1, delayMs: 499 });
    assert.equal(nextReconnect(7, 59_999, undefined, reconnectPolicy, fixedRandom(0.999999)).delayMs, 19_999);
  });

  it("honours the server's retryMs", () => {
    assert.equal(nextReconnect(0, 0, 5_000, reconnectPolicy, fixedRandom(0)).delayMs, 5_000);
  });
});
