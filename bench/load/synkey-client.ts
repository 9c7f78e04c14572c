// A lean Synkey protocol client for load generation, doing what the SDK engine does on the wire:
// AUTH; SEND with a cmid; on NOTIFY (or a newer AUTH_OK seq) SYNC, apply, then ACK — batched with
// the next SYNC while `more` is set or a NOTIFY came in meanwhile; PONG to PING. No store, no retries.
import {
  type BodyOf,
  ConvKind,
  decodeBody,
  decodeFrames,
  encodeFrame,
  type Frame,
  frame,
  MsgKind,
  Op,
} from '@synkey/protocol';
import WebSocket from 'ws';
import { tagOf } from '../texts';
import type { LoadClient, LoadEvents } from './types';

const LIMITS = { maxFrame: 1 << 24, maxFrames: 256 };

/** A Synkey long link of one user. */
export class SynkeyLoadClient implements LoadClient {
  /** The conversation with this client's peer, once known. */
  conv = 0;
  private epoch = 0;
  private seq = 0;
  private syncing = false;
  private owed = false;
  private nextSeq = 1;
  private readonly replies = new Map<number, (f: Frame) => void>();

  private constructor(
    readonly user: string,
    private readonly ws: WebSocket,
    private readonly events: LoadEvents,
  ) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      for (const f of decodeFrames(new Uint8Array(data.buffer, data.byteOffset, data.length), LIMITS)) this.onFrame(f);
    });
    ws.on('error', () => {});
  }

  /** Opens a link for `user` and authenticates it with `token`. */
  static open(url: string, user: string, token: string, events: LoadEvents): Promise<SynkeyLoadClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const c = new SynkeyLoadClient(user, ws, events);
      ws.once('error', reject);
      ws.once('open', () => {
        c.request(Op.AUTH, { token, device: 'bench' }).then((f) => {
          if (f.op !== Op.AUTH_OK) return reject(new Error(`AUTH failed for ${user}: op ${f.op}`));
          const ok = decodeBody(Op.AUTH_OK, f.body);
          c.epoch = ok.epoch;
          if (ok.seq > c.seq) c.sync();
          resolve(c);
        }, reject);
      });
    });
  }

  get busy(): boolean {
    return this.syncing || this.owed;
  }

  /** Creates (or finds) the direct conversation with `peer`; returns its id. */
  async direct(peer: string): Promise<number> {
    const f = await this.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: [peer] });
    if (f.op !== Op.CONV) throw new Error(`CONV_CREATE failed: op ${f.op}`);
    return decodeBody(Op.CONV, f.body).conv.id;
  }

  send(tag: string, text: string): void {
    this.ws.send(frame(Op.SEND, this.nextSeq++, { cmid: tag, conv: this.conv, kind: MsgKind.Text, text }));
  }

  close(): void {
    this.ws.terminate();
  }

  private request<O extends Parameters<typeof frame>[0]>(op: O, body: BodyOf<O>): Promise<Frame> {
    const seq = this.nextSeq++;
    this.ws.send(frame(op, seq, body));
    return new Promise((resolve) => this.replies.set(seq, resolve));
  }

  private sync(): void {
    if (this.syncing) {
      this.owed = true;
      return;
    }
    this.syncing = true;
    this.ws.send(frame(Op.SYNC, this.nextSeq++, { epoch: this.epoch, seq: this.seq, limit: 200 }));
  }

  private onSyncReply(body: BodyOf<typeof Op.SYNC_REPLY>): void {
    if (body.reset || body.from !== this.seq) {
      if (body.reset) this.seq = 0;
      this.epoch = body.epoch;
      this.ws.send(frame(Op.SYNC, this.nextSeq++, { epoch: this.epoch, seq: this.seq, limit: 200 }));
      return;
    }
    for (const e of body.events) {
      if (e.msg && e.msg.sender !== this.user) this.events.delivered(tagOf(e.msg.text));
    }
    this.epoch = body.epoch;
    this.seq = body.seq;
    const ack = frame(Op.ACK, this.nextSeq++, { epoch: this.epoch, seq: this.seq });
    if (body.more || this.owed) {
      this.owed = false;
      const next = frame(Op.SYNC, this.nextSeq++, { epoch: this.epoch, seq: this.seq, limit: 200 });
      this.ws.send(Buffer.concat([ack, next]));
    } else {
      this.syncing = false;
      this.ws.send(ack);
    }
  }

  private onFrame(f: Frame): void {
    switch (f.op) {
      case Op.NOTIFY: {
        const n = decodeBody(Op.NOTIFY, f.body);
        if (n.seq > this.seq) this.sync();
        return;
      }
      case Op.SEND_ACK:
        this.events.acked(decodeBody(Op.SEND_ACK, f.body).cmid);
        return;
      case Op.SYNC_REPLY:
        this.onSyncReply(decodeBody(Op.SYNC_REPLY, f.body));
        return;
      case Op.PING:
        this.ws.send(encodeFrame(Op.PONG, f.seq));
        return;
      case Op.ERROR: {
        const e = decodeBody(Op.ERROR, f.body);
        this.events.failed(`${e.code}: ${e.message}`);
        break;
      }
    }
    const reply = this.replies.get(f.seq);
    if (reply) {
      this.replies.delete(f.seq);
      reply(f);
    }
  }
}
