import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ConvKind } from '@synkey/protocol';
import type { EngineEvent } from '../src/engine';
import { waitFor } from './helpers';
import { cleanup, engineFor, freshServer } from './server-harness';

after(cleanup);

describe('short link under the server rate limit', () => {
  it('a body refused whole with HTTP 429 waits Retry-After and goes again: every message stored once, in order, the link never dropped', async () => {
    // 4 requests/s: the client's own pacing is off, so most bodies are refused whole (HTTP 429).
    const server = await freshServer({ rateLimit: { perSecond: 4, burst: 4 } });
    const alice = engineFor(server.url, 'alice', { transport: 'http' });
    const events: EngineEvent[] = [];
    alice.subscribe((e) => events.push(e));
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    const texts = Array.from({ length: 30 }, (_, i) => `m${i}`);
    for (const text of texts) await alice.send(conv.id, { text });
    await waitFor(
      async () => (await alice.messages(conv.id)).filter((m) => m.state !== 'sending').length === texts.length,
      90_000,
      'every message acknowledged',
    );
    const stored = server.store.history('alice', { conv: conv.id, limit: 200 }).msgs;
    assert.deepEqual(
      stored.map((m) => m.text),
      texts,
    );
    assert.ok(
      events.some((e) => e.type === 'error' && (e.error as { code?: string }).code === 'RATE_LIMITED'),
      'the server did refuse some bodies for rate',
    );
    const states = events.flatMap((e) => (e.type === 'connection' ? [e.state] : []));
    const afterOnline = states.slice(states.indexOf('online'));
    assert.ok(
      states.includes('online') && afterOnline.every((s) => s === 'online'),
      `link states: ${states.join(', ')}`,
    );
  });
});
