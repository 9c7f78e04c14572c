import {
  type BodyOf,
  decodeBody,
  ErrorCode,
  type Frame,
  frame,
  Limits,
  Op,
  opName,
  ProtocolError,
} from '@synkey/protocol';
import { type Identity, verifyToken } from './auth';
import type { VoiceNotes } from './media/voice';
import type { Notifier } from './notifier';
import { TokenBucket } from './rate-limit';
import type { ChatStore } from './store/types';

/** An authenticated link's identity and its abuse counter. */
export interface Session {
  user: string;
  device: string;
  /** Requests refused by the rate limit since the link opened. */
  strikes: number;
}

/** What the dispatcher needs from the server. */
export interface DispatcherDeps {
  store: ChatStore;
  notifier: Notifier;
  secret: Uint8Array;
  heartbeatMs: number;
  maxFrame: number;
  rateLimit: { perSecond: number; burst: number };
  log: (msg: string, err?: unknown) => void;
  /** Voice notes (VOICE_PART); without them VOICE_PART is UNKNOWN_OP. */
  voice?: VoiceNotes;
  /** Throws to refuse an authenticated user's link (dev mode's offline switch). */
  admit?: (user: string) => void;
}

/** A reply to send now, one to send when a POLL completes, or nothing (PONG). */
export type Reply = Uint8Array | Promise<Uint8Array> | null;

/** Bytes of SYNC and HISTORY replies one inbound message or HTTP body may cause (PROTOCOL.md §9). */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;
/** What a SYNC or HISTORY past {@link MAX_REPLY_BYTES} is told to wait before resending. */
const REPLY_CAP_RETRY_MS = 250;

/** State shared by the requests of one inbound message or HTTP body. */
export interface Inbound {
  /** Bytes SYNC and HISTORY replies may still take. */
  replyBytesLeft: number;
  /** Requests refused with RATE_LIMITED, and the longest wait they were told. */
  rateLimited: number;
  retryMs: number;
}

/** Fresh {@link Inbound} state for one message or body. */
export function inbound(replyBytes = MAX_REPLY_BYTES): Inbound {
  return { replyBytesLeft: replyBytes, rateLimited: 0, retryMs: 0 };
}

/** An ERROR frame. */
export function errorFrame(seq: number, code: string, message: string, extra: Partial<BodyOf<typeof Op.ERROR>> = {}) {
  return frame(Op.ERROR, seq, { code, message, ...extra });
}

/** Codes that mean the peer speaks the protocol wrongly: the link is closed. */
const FATAL = new Set<string>([
  ErrorCode.BadBody,
  ErrorCode.BadFrame,
  ErrorCode.BadBatch,
  ErrorCode.UnsupportedVersion,
]);

const IDLE_BUCKET_MS = 60_000;

/**
 * The one request handler both links use ("unified processing"): it authenticates AUTH frames and
 * turns every other request frame into its reply. Protocol misuse throws a ProtocolError the link
 * turns into a fatal error; refused requests get an ERROR reply and the link stays up.
 */
export class Dispatcher {
  private readonly buckets = new Map<string, { bucket: TokenBucket; used: number }>();
  private readonly knownDevices = new Set<string>();

  constructor(private readonly deps: DispatcherDeps) {}

  /** Verifies an AUTH frame; returns the session and its AUTH_OK frame, or throws ProtocolError. */
  async authenticate(f: Frame): Promise<{ session: Session; reply: Uint8Array }> {
    if (f.op !== Op.AUTH)
      throw new ProtocolError(ErrorCode.Unauthenticated, `first frame must be AUTH, got ${opName(f.op)}`);
    const req = decodeBody(Op.AUTH, f.body);
    if (req.device.length === 0 || req.device.length > Limits.maxId) {
      throw new ProtocolError(ErrorCode.BadBody, 'AUTH.device must be 1..64 characters');
    }
    const id: Identity = await verifyToken(this.deps.secret, req.token);
    this.deps.admit?.(id.user);
    const { store } = this.deps;
    const key = `${id.user}\u0000${req.device}\u0000${id.name ?? ''}`;
    if (!this.knownDevices.has(key)) {
      store.ensureUser(id.user, req.device, id.name);
      if (this.knownDevices.size > 100_000) this.knownDevices.clear();
      this.knownDevices.add(key);
    }
    const session: Session = { user: id.user, device: req.device, strikes: 0 };
    const reply = frame(Op.AUTH_OK, f.seq, {
      user: id.user,
      device: req.device,
      epoch: store.epoch,
      seq: store.maxSeq(id.user),
      heartbeatMs: this.deps.heartbeatMs,
      maxFrame: this.deps.maxFrame,
      time: Date.now(),
    });
    return { session, reply };
  }

  /**
   * Handles one request of an authenticated session, `into` being the state of the message or body it came
   * in. Throws ProtocolError only for fatal misuse.
   */
  handle(s: Session, f: Frame, into: Inbound, signal?: AbortSignal): Reply {
    if (f.op === Op.PING) return frame(Op.PONG, f.seq, {});
    if (f.op === Op.PONG) return null;
    const wait = this.take(s.user);
    if (wait > 0) {
      s.strikes++;
      return refuse(f.seq, into, 'too many requests', wait);
    }
    if ((f.op === Op.SYNC || f.op === Op.HISTORY) && into.replyBytesLeft <= 0) {
      return refuse(f.seq, into, `replies to one message are capped at ${MAX_REPLY_BYTES} bytes`, REPLY_CAP_RETRY_MS);
    }
    try {
      return this.route(s, f, into, signal);
    } catch (e) {
      if (e instanceof ProtocolError) {
        if (FATAL.has(e.code)) throw e;
        return errorFrame(f.seq, e.code, e.message);
      }
      this.deps.log(`${opName(f.op)} failed`, e);
      return errorFrame(f.seq, ErrorCode.Internal, 'internal error', { retryMs: 1000 });
    }
  }

  /** Drops rate-limit state of users idle for a minute. */
  sweep(now: number): void {
    for (const [user, b] of this.buckets) if (now - b.used > IDLE_BUCKET_MS) this.buckets.delete(user);
  }

  private take(user: string): number {
    const now = Date.now();
    let b = this.buckets.get(user);
    if (!b) {
      b = { bucket: new TokenBucket(this.deps.rateLimit.perSecond, this.deps.rateLimit.burst, now), used: now };
      this.buckets.set(user, b);
    }
    b.used = now;
    return b.bucket.take(now);
  }

  private route(s: Session, f: Frame, into: Inbound, signal?: AbortSignal): Reply {
    const { store, notifier } = this.deps;
    switch (f.op) {
      case Op.SEND: {
        const r = store.send(s.user, decodeBody(Op.SEND, f.body));
        notifier.mark(r.grew);
        return frame(Op.SEND_ACK, f.seq, r.ack);
      }
      case Op.SYNC:
        return capped(
          into,
          frame(Op.SYNC_REPLY, f.seq, store.sync(s.user, decodeBody(Op.SYNC, f.body), into.replyBytesLeft)),
        );
      case Op.ACK:
        notifier.mark(store.ack(s.user, s.device, decodeBody(Op.ACK, f.body)).grew);
        return frame(Op.OK, f.seq, {});
      case Op.READ:
        notifier.mark(store.read(s.user, decodeBody(Op.READ, f.body)).grew);
        return frame(Op.OK, f.seq, {});
      case Op.CONV_CREATE: {
        const r = store.createConversation(s.user, decodeBody(Op.CONV_CREATE, f.body));
        notifier.mark(r.grew);
        return frame(Op.CONV, f.seq, { conv: r.conv });
      }
      case Op.CONV_LIST:
        decodeBody(Op.CONV_LIST, f.body);
        return frame(Op.CONV_LIST_REPLY, f.seq, { convs: store.listConversations(s.user) });
      case Op.HISTORY: {
        const req = decodeBody(Op.HISTORY, f.body);
        return capped(into, frame(Op.HISTORY_REPLY, f.seq, store.history(s.user, req, into.replyBytesLeft)));
      }
      case Op.POLL: {
        const req = decodeBody(Op.POLL, f.body);
        const epoch = store.epoch;
        const waitMs = Math.min(req.waitMs ?? 25_000, Limits.maxPollMs);
        const after = req.epoch === epoch ? req.seq : -1;
        return notifier.waitFor(s.user, after, waitMs, signal).then((seq) => frame(Op.NOTIFY, f.seq, { epoch, seq }));
      }
      case Op.VOICE_PART: {
        if (!this.deps.voice) break;
        return frame(Op.PART_ACK, f.seq, this.deps.voice.part(s.user, decodeBody(Op.VOICE_PART, f.body)));
      }
      case Op.AUTH:
        throw new ProtocolError(ErrorCode.Invalid, 'already authenticated');
    }
    throw new ProtocolError(ErrorCode.UnknownOp, `unknown or server-bound op ${opName(f.op)}`);
  }
}

function refuse(seq: number, into: Inbound, message: string, retryMs: number): Uint8Array {
  into.rateLimited++;
  into.retryMs = Math.max(into.retryMs, retryMs);
  return errorFrame(seq, ErrorCode.RateLimited, message, { retryMs });
}

function capped(into: Inbound, reply: Uint8Array): Uint8Array {
  into.replyBytesLeft -= reply.length;
  return reply;
}
