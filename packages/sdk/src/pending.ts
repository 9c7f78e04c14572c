import {
  type BodyOf,
  type BodyOp,
  decodeBody,
  ErrorCode,
  type Frame,
  frame,
  Op,
  opName,
  ProtocolError,
} from '@synkey/protocol';
import { ServerError } from './errors';
import { type LinkOptions, type ReplyOf, type RequestOp, replyOp } from './transport';

interface Waiter {
  op: RequestOp;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The requests of one link that wait for their replies, keyed by seq. Every waiter settles exactly
 * once: with its reply, with the server's ERROR, with TIMEOUT, or by {@link PendingRequests.rejectAll}.
 */
export class PendingRequests {
  private seq = 0;
  private readonly waiting = new Map<number, Waiter>();

  /** The number of requests waiting. */
  get size(): number {
    return this.waiting.size;
  }

  /** The next free seq (u32, never 0). */
  nextSeq(): number {
    do this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    while (this.waiting.has(this.seq));
    return this.seq;
  }

  /** Registers a request; its reply promise rejects with TIMEOUT after `timeoutMs`. */
  open<O extends RequestOp>(op: O, timeoutMs: number): { seq: number; reply: Promise<ReplyOf<O>> } {
    const seq = this.nextSeq();
    const reply = new Promise<ReplyOf<O>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        reject(new ProtocolError(ErrorCode.Timeout, `no reply to ${opName(op)} #${seq} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(seq, { op, resolve: resolve as (v: unknown) => void, reject, timer });
    });
    return { seq, reply };
  }

  /**
   * Registers a request and hands its encoded frame to `push`. A body that does not encode rejects
   * the request instead of throwing.
   */
  send<O extends RequestOp>(
    op: O,
    body: BodyOf<O>,
    timeoutMs: number,
    push: (frame: Uint8Array) => void,
  ): Promise<ReplyOf<O>> {
    const { seq, reply } = this.open(op, timeoutMs);
    try {
      push(frame(op, seq, body));
    } catch (error) {
      this.reject(seq, error as Error);
    }
    return reply;
  }

  /**
   * Takes a frame from the server that answers a request, or an ERROR. An ERROR rejects the request
   * whose seq it carries; a fatal one then goes to `fail` (the link is done), and a non-fatal one
   * that answered no request (seq 0, or one that already timed out) to `options.onError`. Any other
   * frame settles its request (see {@link PendingRequests.settle}).
   */
  receive(f: Frame, fail: (error: ServerError) => void, options: Pick<LinkOptions, 'onError'>): void {
    if (f.op !== Op.ERROR) {
      this.settle(f);
      return;
    }
    const error = new ServerError(decodeBody(Op.ERROR, f.body));
    const answered = f.seq !== 0 && this.reject(f.seq, error);
    if (error.fatal) fail(error);
    else if (!answered) options.onError?.(error);
  }

  /**
   * Settles the request a reply frame answers. Returns false for a frame no one waits for
   * (a late reply after a timeout). Throws nothing: a reply that does not decode rejects its request.
   */
  settle(frame: Frame): boolean {
    const waiter = this.take(frame.seq);
    if (!waiter) return false;
    try {
      if (frame.op === Op.ERROR) waiter.reject(new ServerError(decodeBody(Op.ERROR, frame.body)));
      else if (frame.op === replyOp[waiter.op]) waiter.resolve(decodeBody(frame.op as BodyOp, frame.body));
      else {
        waiter.reject(
          new ProtocolError(ErrorCode.UnknownOp, `${opName(frame.op)} is no answer to ${opName(waiter.op)}`),
        );
      }
    } catch (error) {
      waiter.reject(error as Error);
    }
    return true;
  }

  /** Rejects one request; returns false if it was not waiting. */
  reject(seq: number, error: Error): boolean {
    const waiter = this.take(seq);
    waiter?.reject(error);
    return waiter !== undefined;
  }

  /** Rejects every waiting request. */
  rejectAll(error: Error): void {
    const all = [...this.waiting.values()];
    for (const w of all) clearTimeout(w.timer);
    this.waiting.clear();
    for (const w of all) w.reject(error);
  }

  private take(seq: number): Waiter | undefined {
    const waiter = this.waiting.get(seq);
    if (!waiter) return undefined;
    clearTimeout(waiter.timer);
    this.waiting.delete(seq);
    return waiter;
  }
}
