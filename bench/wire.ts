// Bytes on the wire for text messages delivered by sync, against the same messages as JSON over a
// WebSocket (the baseline). Both are measured from the same 1,000 messages stored by the real server.
import { ConvKind, decodeBody, decodeFrames, frame, type Message, MsgKind, Op } from '@synkey/protocol';
import { mintToken, startServer } from '@synkey/server';
import WebSocket from 'ws';
import { jsonEvent } from './json-baseline';
import { sentence } from './texts';

/** The per-message bytes of Synkey sync vs JSON, for `count` messages. */
export async function measureWire(count = 1000) {
  const server = await startServer({
    port: 0,
    secret: 'bench',
    rateLimit: { perSecond: 1e6, burst: 1e6 },
    log: () => {},
  });
  try {
    const token = (u: string) => mintToken('bench', u);
    const store = server.store;
    store.ensureUser('alice');
    const { conv } = store.createConversation('alice', { kind: ConvKind.Direct, members: ['bob'] });
    const texts: string[] = [];
    for (let i = 0; i < count; i++) {
      const text = sentence(i);
      texts.push(text);
      store.send('alice', { cmid: `01J${String(i).padStart(23, '0')}`, conv: conv.id, kind: MsgKind.Text, text });
    }
    const textBytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);

    const ws = new WebSocket(server.wsUrl);
    await new Promise((r) => ws.once('open', r));
    let received = 0;
    const replies: Uint8Array[] = [];
    const next = () => new Promise<Uint8Array>((r) => ws.once('message', (d: Buffer) => r(new Uint8Array(d))));
    ws.send(frame(Op.AUTH, 1, { token: await token('bob'), device: 'bench' }));
    await next();
    let seq = 0;
    let epoch = 0;
    for (let s = 2; ; s++) {
      ws.send(frame(Op.SYNC, s, { epoch, seq, limit: 200 }));
      const bytes = await next();
      received += bytes.length;
      replies.push(bytes);
      const f = decodeFrames(bytes, { maxFrame: 1 << 24, maxFrames: 1 })[0]!;
      const body = decodeBody(Op.SYNC_REPLY, f.body);
      epoch = body.epoch;
      seq = body.seq;
      if (!body.more) break;
    }
    ws.close();

    // Baseline: the same events as a typical JSON-over-WebSocket chat protocol sends them.
    let json = 0;
    const all: Message[] = [];
    for (let before = Number.MAX_SAFE_INTEGER, more = true; more; ) {
      const page = server.store.history('bob', { conv: conv.id, before, limit: 200 });
      all.unshift(...page.msgs);
      more = page.more;
      before = page.msgs[0]?.convSeq ?? 0;
    }
    for (const m of all) {
      json += Buffer.byteLength(JSON.stringify(jsonEvent(m)));
    }
    return {
      messages: count,
      textBytesPerMessage: textBytes / count,
      synkeyBytesPerMessage: received / count,
      synkeyOverheadPerMessage: (received - textBytes) / count,
      jsonBytesPerMessage: json / count,
      jsonOverheadPerMessage: (json - textBytes) / count,
      syncReplies: replies.length,
    };
  } finally {
    await server.close();
  }
}
