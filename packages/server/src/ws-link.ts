import {
  closeCodeFor,
  DEFAULT_LIMITS,
  decodeFrames,
  ErrorCode,
  encodeBatch,
  type Frame,
  type FrameLimits,
  frame,
  HEADER_LEN,
  Op,
  ProtocolError,
} from '@synkey/protocol';
import type { WebSocket } from 'ws';
import type { CommitGroup } from './commit-group';
import { type Dispatcher, errorFrame, inbound, type Reply, type Session } from './dispatcher';
import type { Notifier } from './notifier';

/** What a long link needs from the server. */
export interface WsLinkDeps {
  dispatcher: Dispatcher;
  group: CommitGroup;
  notifier: Notifier;
  limits: FrameLimits;
  epoch: number;
  /** Refused requests tolerated on one link before it is closed for abuse. */
  maxStrikes: number;
  /** Called once the link has authenticated. */
  register(link: WsLink): void;
  /** Called (possibly more than once) when the link is gone. */
  unregister(link: WsLink): void;
  log: (msg: string, err?: unknown) => void;
}

const CLOSE_GRACE_MS = 1000;
const AUTH_TIMEOUT_MS = 10_000;
/** Frames per outbound message stop at this many bytes where frames allow, so its BATCH fits any reader (1 MiB). */
const MAX_OUT_BYTES = DEFAULT_LIMITS.maxFrame - HEADER_LEN;

/**
 * One WebSocket long link: authenticates its first frame, hands requests to the dispatcher in
 * arrival order (inside the turn's commit group, so replies go out once their effects are durable),
 * batches the frames it writes in one tick, pushes NOTIFY, and closes itself with an ERROR frame and
 * a close code on any protocol misuse.
 */
export class WsLink {
  session: Session | null = null;
  lastSeen = Date.now();
  private readonly openedAt = this.lastSeen;
  private outbox: Uint8Array[] = [];
  private flushing = false;
  private chain: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly deps: WsLinkDeps,
    private readonly ws: WebSocket,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', () => this.dispose());
    ws.on('error', () => this.dispose());
  }

  /**
   * Sends a PING carrying the user's newest SynKey (so a client that missed a NOTIFY catches up within
   * one heartbeat), or closes the link if it has been silent longer than `deadMs`.
   */
  heartbeat(now: number, deadMs: number): void {
    if (this.closed) return;
    if (!this.session && now - this.openedAt > AUTH_TIMEOUT_MS) {
      this.fail(new ProtocolError(ErrorCode.Unauthenticated, 'no AUTH frame in time'));
    } else if (now - this.lastSeen > deadMs)
      this.fail(new ProtocolError(ErrorCode.Timeout, 'no traffic within the heartbeat'));
    else if (!this.session) this.push(frame(Op.PING, 0, {}));
    else this.push(frame(Op.PING, 0, { epoch: this.deps.epoch, seq: this.deps.notifier.newest(this.session.user) }));
  }

  /** Closes the link with a final ERROR frame (seq 0, `fatal`). */
  fail(err: ProtocolError, extra: { url?: string; retryMs?: number } = {}): void {
    if (this.closed) return;
    this.push(errorFrame(0, err.code, err.message, { ...extra, fatal: true }));
    this.flush();
    this.closed = true;
    this.ws.close(closeCodeFor(err.code), err.code);
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
    this.dispose();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    this.lastSeen = Date.now();
    const max = this.deps.limits.maxFrame;
    if (!isBinary) {
      this.fail(new ProtocolError(ErrorCode.BadFrame, 'text messages are not part of the protocol'));
    } else if (data.length > max) {
      this.fail(new ProtocolError(ErrorCode.FrameTooLarge, `message of ${data.length} bytes exceeds ${max}`));
    } else {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      this.chain = this.chain.then(() => this.process(bytes));
    }
  }

  private async process(bytes: Uint8Array): Promise<void> {
    if (this.closed) return;
    try {
      const frames = decodeFrames(bytes, this.deps.limits);
      let next = 0;
      while (!this.session) {
        const f = frames[next++];
        if (!f) return;
        try {
          await this.authenticate(f);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          this.fail(e);
          return;
        }
        if (this.closed) return;
      }
      if (next < frames.length) this.submit(this.session, frames.slice(next));
    } catch (e) {
      this.failWith(e);
    }
  }

  /** Queues the requests of one message for this turn's commit group; their replies follow its commit. */
  private submit(session: Session, frames: Frame[]): void {
    const { dispatcher, group, maxStrikes } = this.deps;
    group.submit(
      () => {
        const into = inbound();
        const replies: Reply[] = [];
        let fatal: unknown;
        for (const f of frames) {
          try {
            replies.push(dispatcher.handle(session, f, into));
          } catch (e) {
            fatal = e;
            break;
          }
        }
        return () => {
          for (const reply of replies) {
            if (reply instanceof Promise)
              reply.then(
                (b) => this.push(b),
                (e) => this.deps.log('poll failed', e),
              );
            else if (reply) this.push(reply);
          }
          if (fatal !== undefined) this.failWith(fatal);
          else if (session.strikes > maxStrikes) {
            this.fail(new ProtocolError(ErrorCode.RateLimited, 'rate limit exceeded repeatedly'), { retryMs: 5000 });
          }
        };
      },
      (e) => {
        this.deps.log('commit failed', e);
        this.fail(new ProtocolError(ErrorCode.Internal, 'internal error'), { retryMs: 1000 });
      },
    );
  }

  private failWith(e: unknown): void {
    if (e instanceof ProtocolError) this.fail(e);
    else {
      this.deps.log('link failed', e);
      this.fail(new ProtocolError(ErrorCode.Internal, 'internal error'));
    }
  }

  private async authenticate(f: Parameters<Dispatcher['authenticate']>[0]): Promise<void> {
    const { session, reply } = await this.deps.dispatcher.authenticate(f);
    if (this.closed) return;
    this.session = session;
    this.push(reply);
    const epoch = this.deps.epoch;
    this.unsubscribe = this.deps.notifier.subscribe(session.user, (seq) =>
      this.push(frame(Op.NOTIFY, 0, { epoch, seq })),
    );
    this.deps.register(this);
  }

  private push(bytes: Uint8Array): void {
    if (this.closed) return;
    this.outbox.push(bytes);
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushing = false;
    if (this.outbox.length === 0 || this.ws.readyState !== this.ws.OPEN) return;
    const frames = this.outbox;
    this.outbox = [];
    const maxFrames = this.deps.limits.maxFrames;
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < frames.length; i++) {
      const size = (frames[i] as Uint8Array).length;
      if (i > start && (i - start >= maxFrames || bytes + size > MAX_OUT_BYTES)) {
        this.ws.send(encodeBatch(frames.slice(start, i)));
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    this.ws.send(encodeBatch(frames.slice(start)));
  }

  private dispose(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.deps.unregister(this);
  }
}
