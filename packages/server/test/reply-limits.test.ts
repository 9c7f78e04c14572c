import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConvKind, ErrorCode, frame, Limits, MsgKind, Op } from '@synkey/protocol';
import { MAX_REPLY_BYTES } from '../src/dispatcher';
import { mintToken, type RunningServer, startServer } from '../src/index';
import { REPLY_BUDGET } from '../src/store/sizes';
import { type Got, postLink, RawClient } from './raw-client';

const SECRET = 'reply-limits-secret';
const token = (user: string) => mintToken(SECRET, user);
/** Requests in one message: their pages would add up to ~100 MiB without the cap. */
const FRAMES = 200;
/** What the replies to one message may add up to: the cap, plus the one page that may cross it. */
const MOST = MAX_REPLY_BYTES + REPLY_BUDGET + 64 * 1024;

let server: RunningServer;
let conv: number;

before(async () => {
  server = await startServer({ port: 0, secret: SECRET, rateLimit: { perSecond: 1e6, burst: 1e6 }, log: () => {} });
  conv = server.store.createConversation('big-alice', { kind: ConvKind.Direct, members: ['big-bob'] }).conv.id;
  // 120 messages of 8000 units: about 940 KiB of events, so every SYNC or HISTORY page is cut by bytes.
  server.store.batch(() => {
    for (let i = 0; i < 120; i++) {
      const text = `${i} ${'x'.repeat(Limits.maxText - 8)}`;
      server.store.send('big-alice', { cmid: `big-${i}`, conv, kind: MsgKind.Text, text });
    }
  });
});
after(() => server.close());

/** Wire bytes of the decoded frames, as the server sent them (header + msgpack body). */
const bytesOf = (got: Got[]) => got.reduce((n, g) => n + g.bytes, 0);

function checkCapped(replies: Got[], replyOp: number): void {
  assert.equal(replies.length, FRAMES, 'every request is answered');
  const pages = replies.filter((g) => g.op === replyOp);
  const refused = replies.filter((g) => g.op === Op.ERROR);
  assert.ok(pages.length >= 1 && refused.length >= 1, `${pages.length} pages, ${refused.length} refused`);
  assert.equal(pages.length + refused.length, FRAMES);
  for (const r of refused) {
    assert.equal(r.body.code, ErrorCode.RateLimited);
    assert.ok((r.body.retryMs as number) > 0);
  }
  // Refusals come after the pages: the requests are answered in order until the budget is spent.
  assert.ok(replies.findIndex((g) => g.op === Op.ERROR) === pages.length);
  assert.ok(bytesOf(replies) <= MOST, `${bytesOf(replies)} bytes of replies to one message`);
}

describe('bytes of replies to one message or body are capped (PROTOCOL.md §9)', () => {
  test('a long-link message of SYNCs gets pages up to the cap and RATE_LIMITED for the rest', async () => {
    const { client } = await RawClient.login(server.wsUrl, await token('big-bob'));
    const seqs = client.sendMany(
      Op.SYNC,
      Array.from({ length: FRAMES }, () => ({ epoch: 0, seq: 0, limit: Limits.maxSyncPage })),
    );
    const replies = await Promise.all(seqs.map((s) => client.next((g) => g.seq === s, 20_000)));
    checkCapped(replies, Op.SYNC_REPLY);
    const page = replies[0]!.body as { events: unknown[]; more: boolean };
    assert.ok(page.events.length > 0 && page.events.length < 120 && page.more, 'one page is cut by bytes');
    client.close();
  });

  test('a long-link message of HISTORY requests is capped the same way, each page cut at about 512 KiB', async () => {
    const { client } = await RawClient.login(server.wsUrl, await token('big-alice'));
    const seqs = client.sendMany(
      Op.HISTORY,
      Array.from({ length: FRAMES }, () => ({ conv, limit: Limits.maxHistoryPage })),
    );
    const replies = await Promise.all(seqs.map((s) => client.next((g) => g.seq === s, 20_000)));
    checkCapped(replies, Op.HISTORY_REPLY);
    const page = replies[0]!;
    assert.ok(page.bytes <= REPLY_BUDGET + 1024, `a HISTORY reply of ${page.bytes} bytes`);
    const msgs = page.body.msgs as { convSeq: number }[];
    assert.equal(msgs.at(-1)?.convSeq, 120, 'a cut page keeps the newest messages');
    assert.equal(page.body.more, true);
    client.close();
  });

  test('the next message gets a fresh budget', async () => {
    const { client } = await RawClient.login(server.wsUrl, await token('big-bob'));
    const first = client.sendMany(Op.SYNC, [{ epoch: 0, seq: 0 }]);
    assert.equal((await client.next((g) => g.seq === first[0])).op, Op.SYNC_REPLY);
    const second = client.sendMany(Op.SYNC, [{ epoch: 0, seq: 0 }]);
    assert.equal((await client.next((g) => g.seq === second[0])).op, Op.SYNC_REPLY);
    client.close();
  });

  test('a short-link body of SYNCs is capped too, in a 200 with per-request errors', async () => {
    const auth = frame(Op.AUTH, 1, { token: await token('big-bob'), device: 'h' });
    const syncs = Array.from({ length: FRAMES }, (_, i) => frame(Op.SYNC, i + 2, { epoch: 0, seq: 0 }));
    const { status, got } = await postLink(server.url, [auth, ...syncs]);
    assert.equal(status, 200);
    assert.equal(got[0]!.op, Op.AUTH_OK);
    checkCapped(got.slice(1), Op.SYNC_REPLY);
  });
});
