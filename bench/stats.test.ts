import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, percentile, summarize } from './stats';

test('percentile takes the nearest rank of a sorted sample', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 0.5), 50);
  assert.equal(percentile(xs, 0.99), 99);
  assert.equal(percentile(xs, 1), 100);
  assert.equal(percentile([7], 0.99), 7);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

test('summarize sorts its input and reports count, p50, p99, max and mean', () => {
  assert.deepEqual(summarize([3, 1, 2, 4]), { count: 4, p50: 2, p99: 4, max: 4, mean: 2.5 });
  assert.equal(median([5, 1, 9]), 5);
});
