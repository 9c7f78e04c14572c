import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageCache } from './message-cache';
import type { MessageRow } from './rows';

const row = (id: number, text: string): MessageRow => ({
  id,
  conv_id: 1,
  conv_seq: id,
  sender: 'alice',
  cmid: `c${id}`,
  kind: 1,
  text,
  ts: 0,
  media_id: null,
  media_mime: null,
  media_size: null,
  media_width: null,
  media_height: null,
  media_duration_ms: null,
  media_name: null,
});

test('the message cache drops its oldest rows once their texts pass its byte budget, and forgets all on clear', () => {
  const cache = new MessageCache(64 * 1024);
  for (let id = 1; id <= 20; id++) cache.put(row(id, 'x'.repeat(8000)));
  const kept = Array.from({ length: 20 }, (_, i) => i + 1).filter((id) => cache.get(id));
  assert.ok(kept.length >= 2 && kept.length <= 4, `kept ${kept.length} rows of 16 KB in 64 KiB`);
  assert.deepEqual(
    kept,
    Array.from({ length: kept.length }, (_, i) => 21 - kept.length + i),
    'the newest are kept',
  );
  for (let id = 21; id <= 200; id++) cache.put(row(id, 'short'));
  assert.equal(cache.get(200)?.text, 'short');
  assert.equal(cache.get(20), undefined, 'long rows make room for many short ones');
  cache.clear();
  assert.equal(cache.get(200), undefined);
});
