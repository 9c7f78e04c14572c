import { decodeBody, decodeFrames, frame, type Message, Op } from '@synkey/protocol';

/** Every message of conversation `conv`, oldest first, read as `token`'s user over the short link. */
export async function fullHistory(server: string, token: string, conv: number): Promise<Message[]> {
  const all: Message[] = [];
  for (let before: number | undefined; ; ) {
    const body = Buffer.concat([
      frame(Op.AUTH, 1, { token, device: 'bench-reader' }),
      frame(Op.HISTORY, 2, { conv, limit: 200, ...(before === undefined ? {} : { before }) }),
    ]);
    const res = await fetch(`${server}/link`, { method: 'POST', body });
    const reply = decodeFrames(new Uint8Array(await res.arrayBuffer()), { maxFrame: 1 << 24, maxFrames: 256 }).find(
      (f) => f.seq === 2,
    );
    if (reply?.op !== Op.HISTORY_REPLY) throw new Error(`HISTORY failed: op ${reply?.op}`);
    const page = decodeBody(Op.HISTORY_REPLY, reply.body);
    all.unshift(...page.msgs);
    if (!page.more || page.msgs.length === 0) return all;
    before = page.msgs[0]?.convSeq;
  }
}
