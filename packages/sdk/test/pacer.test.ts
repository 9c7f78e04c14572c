import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pacer } from '../src/pacer';

describe('Pacer', () => {
  it('lets a burst through at once, then spaces callers at the sustained rate, in call order', () => {
    const now = 0;
    const pacer = new Pacer({ perSecond: 10, burst: 3 }, () => now);
    const waits = Array.from({ length: 6 }, () => pacer.take());
    assert.deepEqual(waits, [0, 0, 0, 100, 200, 300]);
  });

  it('refills over time up to the burst', () => {
    let now = 0;
    const pacer = new Pacer({ perSecond: 10, burst: 2 }, () => now);
    pacer.take();
    pacer.take();
    now = 10_000;
    assert.deepEqual([pacer.take(), pacer.take(), pacer.take()], [0, 0, 100]);
  });
});
