import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBody, ErrorCode, type Frame, frame, Op, type ProtocolError } from '@synkey/protocol';
import { ServerError } from '../src/errors';
import { connectHttp, type FetchLike } from '../src/http-transport';
import type { Notify, Transport } from '../src/transport';
import { fakeFetch } from './fake-peers';
import { sleep, waitFor } from './helpers';

function open(fetch: FetchLike, onNotify: (n: Notify) => void = () => {}): Promise<Transport> {
  return connectHttp({
    url: 'http://server.test/link',
    fetch,
    auth: { token: 'tok', device: 'd1' },
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 2_000,
    pollWaitMs: 1_000,
    onNotify,
  });
}

/** Holds POLLs until `release` answers them with a new seq. */
function pollHolder() {
  const waiting: ((seq: number) => void)[] = [];
  return {
    answer: (f: Frame) =>
      new Promise<Uint8Array>((resolve) => {
        waiting.push((seq) => resolve(frame(Op.NOTIFY, f.seq, { epoch: 1, seq })));
      }),
    release(seq: number) {
      for (const w of waiting.splice(0)) w(seq);
    },
    get held() {
      return waiting.length;
    },
  };
}

describe('HTTP transport', () => {
  it('starts every POST with AUTH and matches replies to requests by seq', async () => {
    const polls = pollHolder();
    const { fetch, posts } = fakeFetch({
      answer: (f) => {
        if (f.op === Op.POLL) return polls.answer(f);
        if (f.op === Op.READ) return frame(Op.OK, f.seq, {});
        if (f.op === Op.CONV_LIST) return frame(Op.CONV_LIST_REPLY, f.seq, { convs: [] });
      },
    });
    const link = await open(fetch);
    const [ok, list] = await Promise.all([
      link.request(Op.READ, { conv: 1, upTo: 2 }, 1_000),
      link.request(Op.CONV_LIST, {}, 1_000),
    ]);
    assert.deepEqual(ok, {});
    assert.deepEqual(list, { convs: [] });
    assert.ok(posts.every((p) => p.auth.token === 'tok'));
    const batch = posts.find((p) => p.frames.some((f) => f.op === Op.READ));
    assert.deepEqual(
      batch?.frames.map((f) => f.op),
      [Op.READ, Op.CONV_LIST],
    );
    link.close();
    polls.release(0);
  });

  it('sends one request POST at a time, so the server sees requests in call order', async () => {
    const polls = pollHolder();
    let inFlight = 0;
    let maxInFlight = 0;
    const order: number[] = [];
    const { fetch } = fakeFetch({
      answer: async (f) => {
        if (f.op === Op.POLL) return polls.answer(f);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        order.push(decodeBody(Op.READ, f.body).conv);
        await sleep(5);
        inFlight--;
        return frame(Op.OK, f.seq, {});
      },
    });
    const link = await open(fetch);
    const replies: Promise<unknown>[] = [];
    for (let conv = 1; conv <= 6; conv++) {
      replies.push(link.request(Op.READ, { conv, upTo: 1 }, 2_000));
      await sleep(1);
    }
    await Promise.all(replies);
    assert.equal(maxInFlight, 1);
    assert.deepEqual(order, [1, 2, 3, 4, 5, 6]);
    link.close();
    polls.release(0);
  });

  it('turns a POLL answer into a notification and polls on from the new seq', async () => {
    const polls = pollHolder();
    const { fetch, posts } = fakeFetch({ answer: (f) => (f.op === Op.POLL ? polls.answer(f) : undefined) });
    const seen: number[] = [];
    const link = await open(fetch, (n) => seen.push(n.seq));
    await waitFor(() => polls.held === 1);
    polls.release(4);
    await waitFor(() => polls.held === 1 && seen.length === 1);
    const lastPoll = posts.at(-1)?.frames[0] as Frame;
    assert.equal(decodeBody(Op.POLL, lastPoll.body).seq, 4);
    assert.deepEqual(seen, [4]);
    link.close();
    polls.release(0);
  });

  it('takes the link down and rejects pending requests when a POST fails', async () => {
    const polls = pollHolder();
    const { fetch } = fakeFetch({
      answer: (f) => {
        if (f.op === Op.POLL) return polls.answer(f);
        throw new Error('connection reset');
      },
    });
    const link = await open(fetch);
    await assert.rejects(link.request(Op.CONV_LIST, {}, 2_000), (e: ProtocolError) => e.code === ErrorCode.Unavailable);
    assert.equal(((await link.closed) as ProtocolError).code, ErrorCode.Unavailable);
    polls.release(0);
  });

  it("rejects the connect with the server's refusal of the AUTH", async () => {
    const { fetch } = fakeFetch({
      auth: () => ({ error: { code: ErrorCode.TokenExpired, message: 'expired', fatal: true } }),
    });
    await assert.rejects(
      open(fetch),
      (e: ServerError) => e instanceof ServerError && e.code === ErrorCode.TokenExpired,
    );
  });

  it('takes the link down when a later POST is refused for an expired token', async () => {
    let expired = false;
    const polls = pollHolder();
    const { fetch } = fakeFetch({
      auth: () => (expired ? { error: { code: ErrorCode.TokenExpired, message: 'expired', fatal: true } } : 'ok'),
      answer: (f) => (f.op === Op.POLL ? polls.answer(f) : undefined),
    });
    const link = await open(fetch);
    expired = true;
    await assert.rejects(link.request(Op.CONV_LIST, {}, 2_000));
    const reason = await link.closed;
    assert.ok(reason instanceof ServerError && reason.code === ErrorCode.TokenExpired);
    polls.release(0);
  });
});
