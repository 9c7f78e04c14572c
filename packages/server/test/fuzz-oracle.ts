// The fuzz oracle: what the server must answer to an input, frame by frame, per PROTOCOL.md — which
// frames get which replies in which order, which inputs are fatal and with which ERROR code, close code
// and HTTP status — and the judge that compares it with what the server actually did.
import {
  type BodyOp,
  closeCodeFor,
  decodeBody,
  decodeFrames,
  ErrorCode,
  type Frame,
  type FrameLimits,
  Limits,
  msgpackFits,
  Op,
  opName,
  ProtocolError,
} from '@synkey/protocol';
import type { FuzzInput } from './fuzz-corpus';

/** A frame received from the server, decoded. */
export interface Got {
  op: number;
  seq: number;
  body: Record<string, unknown>;
}

/** What the oracle needs to know about the server and the session. */
export interface OracleContext {
  /** The one token the server accepts for this fuzzer. */
  token: string;
  limits: FrameLimits;
  /** The WebSocket library's message limit (larger messages are refused with close 1009). */
  maxPayload: number;
}

/** The verdict on one input: a problem, or how it ended. */
export interface Verdict {
  problem?: string;
  /** The fatal ERROR code, when the input was fatal. */
  fatal?: string;
  closeCode?: number;
  /** Non-fatal ERROR codes in the replies. */
  refusals: string[];
  /** Something allowed but worth reporting. */
  tolerated?: string;
  /** The frames the server handled (up to the fatal one); absent when it refused the input as a whole. */
  handled?: Frame[];
}

/** Decodes a body as the server does; never runs the msgpack decoder on a body that cannot fit. */
export function safeDecode(op: number, body: Uint8Array): Record<string, unknown> {
  if (body.length > 0 && !msgpackFits(body)) throw new ProtocolError(ErrorCode.BadBody, 'msgpack value cannot fit');
  return decodeBody(op as BodyOp, body) as Record<string, unknown>;
}

/** Ops the dispatcher routes, with their success reply and the refusals they may get. */
const ROUTED: Record<number, { ok: number; refusals: string[] }> = {
  [Op.SEND]: {
    ok: Op.SEND_ACK,
    refusals: [ErrorCode.Forbidden, ErrorCode.NotFound, ErrorCode.Invalid, ErrorCode.OutOfOrder],
  },
  [Op.SYNC]: { ok: Op.SYNC_REPLY, refusals: [] },
  [Op.ACK]: { ok: Op.OK, refusals: [ErrorCode.Invalid] },
  [Op.READ]: { ok: Op.OK, refusals: [ErrorCode.NotFound, ErrorCode.Forbidden] },
  [Op.CONV_CREATE]: { ok: Op.CONV, refusals: [ErrorCode.Invalid] },
  [Op.CONV_LIST]: { ok: Op.CONV_LIST_REPLY, refusals: [] },
  [Op.HISTORY]: { ok: Op.HISTORY_REPLY, refusals: [ErrorCode.NotFound, ErrorCode.Forbidden] },
  [Op.POLL]: { ok: Op.NOTIFY, refusals: [] },
  [Op.VOICE_PART]: {
    ok: Op.PART_ACK,
    refusals: [ErrorCode.Invalid, ErrorCode.MediaTooLarge, ErrorCode.UnsupportedMedia, ErrorCode.RateLimited],
  },
};

const HTTP_STATUS: Record<string, number> = {
  [ErrorCode.FrameTooLarge]: 413,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.TokenExpired]: 401,
  [ErrorCode.RateLimited]: 429,
};

function show(g: Got | undefined): string {
  if (!g) return 'nothing';
  if (g.op === Op.ERROR) return `ERROR#${g.seq} ${g.body.code}${g.body.fatal ? ' (fatal)' : ''}: ${g.body.message}`;
  return `${opName(g.op)}#${g.seq}`;
}

/** Checks a success reply against its request: the ids, ranges and pages it must respect. */
function checkSuccess(op: number, req: Record<string, unknown>, reply: Got): string | undefined {
  const b = reply.body;
  switch (op) {
    case Op.SEND_ACK:
      if (b.cmid !== req.cmid) return `SEND_ACK for cmid ${String(b.cmid)}, sent ${String(req.cmid)}`;
      return undefined;
    case Op.SYNC_REPLY: {
      const events = b.events as unknown[];
      if (b.reset) {
        if (b.from !== 0 || b.seq !== 0 || events.length !== 0) return 'a reset SYNC_REPLY that is not empty at 0';
        return undefined;
      }
      if (b.from !== req.seq) return `SYNC_REPLY from ${String(b.from)} for a SYNC at ${String(req.seq)}`;
      if (b.seq !== (b.from as number) + events.length) return 'SYNC_REPLY seq is not from + events';
      const limit = Math.min(Limits.maxSyncPage, Math.max(1, (req.limit as number | undefined) ?? Limits.syncPage));
      if (events.length > limit) return `SYNC_REPLY with ${events.length} events for limit ${limit}`;
      return undefined;
    }
    case Op.HISTORY_REPLY: {
      const msgs = b.msgs as { conv: number; convSeq: number }[];
      const limit = Math.min(
        Limits.maxHistoryPage,
        Math.max(1, (req.limit as number | undefined) ?? Limits.historyPage),
      );
      if (msgs.length > limit) return `HISTORY_REPLY with ${msgs.length} messages for limit ${limit}`;
      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i]!;
        if (m.conv !== req.conv) return `HISTORY_REPLY holds a message of conversation ${m.conv}`;
        if (req.before !== undefined && m.convSeq >= (req.before as number)) return 'HISTORY_REPLY past `before`';
        if (i > 0 && m.convSeq <= msgs[i - 1]!.convSeq) return 'HISTORY_REPLY not in ascending order';
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Walks the replies of one link or response against the frames that caused them. */
class Walk {
  i = 0;
  readonly refusals: string[] = [];
  handled: Frame[] | undefined;
  constructor(readonly replies: Got[]) {}

  peek(): Got | undefined {
    return this.replies[this.i];
  }

  /** The next reply answers `seq` with one of `ops`, or with a non-fatal ERROR among `refusals`. */
  reply(
    seq: number,
    ops: number[],
    refusals: string[],
    req?: { op: number; body: Record<string, unknown> },
  ): string | undefined {
    const g = this.replies[this.i++];
    if (!g) return `no reply to seq ${seq} (expected ${ops.map(opName).join('|') || 'ERROR'})`;
    if (g.seq !== seq) return `expected the reply to seq ${seq}, got ${show(g)}`;
    if (g.op === Op.ERROR) {
      const code = g.body.code as string;
      if (g.body.fatal === true) return `unexpected fatal ${show(g)}`;
      if (code !== ErrorCode.RateLimited && !refusals.includes(code)) return `unexpected ${show(g)}`;
      this.refusals.push(code);
      return undefined;
    }
    if (!ops.includes(g.op)) return `expected ${ops.map(opName).join('|') || 'ERROR'} for seq ${seq}, got ${show(g)}`;
    return req ? checkSuccess(g.op, req.body, g) : undefined;
  }

  /** Expectations for the frames of an authenticated session, up to the first fatal one. */
  session(frames: Frame[], from: number, track = true): { problem?: string; fatalAt?: number } {
    if (track) this.handled = frames;
    for (let k = from; k < frames.length; k++) {
      const f = frames[k]!;
      let problem: string | undefined;
      if (f.op === Op.PING) problem = this.reply(f.seq, [Op.PONG], []);
      else if (f.op === Op.PONG) continue;
      else if (f.op === Op.AUTH) problem = this.reply(f.seq, [], [ErrorCode.Invalid]);
      else if (ROUTED[f.op]) {
        const next = this.peek();
        if (next?.op === Op.ERROR && next.seq === f.seq && next.body.code === ErrorCode.RateLimited) {
          this.i++;
          continue;
        }
        let body: Record<string, unknown>;
        try {
          body = safeDecode(f.op, f.body);
        } catch {
          if (track) this.handled = frames.slice(0, k + 1);
          return { fatalAt: k };
        }
        const r = ROUTED[f.op]!;
        if (f.op === Op.POLL) continue; // answered later (long link) — the short link handles it itself
        problem = this.reply(f.seq, [r.ok], r.refusals, { op: f.op, body });
      } else problem = this.reply(f.seq, [], [ErrorCode.UnknownOp]);
      if (problem) return { problem: `frame ${k} (${opName(f.op)}): ${problem}` };
    }
    return {};
  }
}

function decodeAll(bytes: Uint8Array, limits: FrameLimits): Frame[] | ProtocolError {
  try {
    return decodeFrames(bytes, limits);
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
}

/** The outcome of one input on a long link. */
export interface LongOutcome {
  /** Replies in arrival order, without pushes (NOTIFY, the server's PING); the sentinel's reply last. */
  replies: Got[];
  /** The seq of the sentinel request sent after the input. */
  sentinel: number;
  close?: { code: number; reason: string; afterError: boolean };
}

/**
 * Judges a long link's answer to `input` (sent on a link that is `authed` or not), followed by a
 * sentinel request (PING when authed, else AUTH) whose reply proves the input was processed.
 */
export function judgeLong(input: FuzzInput, authed: boolean, ctx: OracleContext, out: LongOutcome): Verdict {
  const walk = new Walk(out.replies);
  const verdict = (v: Omit<Verdict, 'refusals'>): Verdict => ({ ...v, refusals: walk.refusals, handled: walk.handled });
  const fail = (problem: string) => verdict({ problem });

  const fatal = (codes: string[], seq: number): Verdict => {
    const g = walk.peek();
    if (!g || g.op !== Op.ERROR || g.body.fatal !== true || !codes.includes(g.body.code as string) || g.seq !== seq) {
      const got = g ? show(g) : out.close ? `close ${out.close.code} ${out.close.reason}` : 'nothing';
      return fail(`expected a fatal ${codes.join('|')} ERROR#${seq}, got ${got}`);
    }
    if (walk.i + 1 < out.replies.length)
      return fail(
        `replies after the fatal ERROR: ${out.replies
          .slice(walk.i + 1)
          .map(show)
          .join(', ')}`,
      );
    if (!out.close) return fail(`no close after fatal ${show(g)}`);
    const code = g.body.code as string;
    if (out.close.code !== closeCodeFor(code) || out.close.reason !== code)
      return fail(
        `fatal ${code} closed with ${out.close.code} "${out.close.reason}", expected ${closeCodeFor(code)} "${code}"`,
      );
    return verdict({ fatal: code, closeCode: out.close.code });
  };
  const finish = (): Verdict => {
    const g = walk.peek();
    if (!g || g.seq !== out.sentinel) {
      const got = g ? show(g) : out.close ? `close ${out.close.code} ${out.close.reason}` : 'nothing';
      return fail(`expected the sentinel reply #${out.sentinel}, got ${got}`);
    }
    if (g.op === Op.ERROR && (g.body.fatal === true || g.body.code !== ErrorCode.Invalid))
      return fail(`sentinel answered with ${show(g)}`);
    if (walk.i + 1 < out.replies.length)
      return fail(`replies after the sentinel: ${out.replies.slice(walk.i + 1).map(show)}`);
    if (out.close) return fail(`link closed (${out.close.code} ${out.close.reason}) after a non-fatal input`);
    return verdict({});
  };

  if (input.kind === 'bad-utf8-text') {
    // RFC 6455 makes invalid UTF-8 in a text message a WebSocket protocol error: `ws` closes with 1007
    // before the application sees the message, so there is no ERROR frame.
    if (out.close?.code === 1007 && out.replies.length === 0)
      return verdict({
        closeCode: 1007,
        tolerated: 'text message with invalid UTF-8: close 1007 from ws, no ERROR frame',
      });
    return fatal([ErrorCode.BadFrame], 0);
  }
  if (input.kind === 'text') return fatal([ErrorCode.BadFrame], 0);
  if (input.bytes.length > ctx.maxPayload) {
    if (out.close?.code === 1009 && out.replies.length === 0) return verdict({ closeCode: 1009 });
    return fail(
      `a ${input.bytes.length}-byte message (over ws maxPayload) ended with ${out.close ? `close ${out.close.code}` : 'no close'}`,
    );
  }
  if (input.bytes.length > ctx.limits.maxFrame) return fatal([ErrorCode.FrameTooLarge], 0);
  const frames = decodeAll(input.bytes, ctx.limits);
  if (frames instanceof ProtocolError) return fatal([frames.code], 0);

  let k = 0;
  if (!authed) {
    // Before AUTH: the first frame must be AUTH with a good body and a token that verifies.
    if (frames.length === 0) return finish();
    const f = frames[0]!;
    walk.handled = [f];
    if (f.op !== Op.AUTH) return fatal([ErrorCode.Unauthenticated], 0);
    let auth: Record<string, unknown>;
    // A refused AUTH is a fatal error, and fatal errors carry seq 0 (PROTOCOL.md §8.1).
    try {
      auth = safeDecode(Op.AUTH, f.body);
    } catch {
      return fatal([ErrorCode.BadBody], 0);
    }
    const device = auth.device as string;
    if (device.length === 0 || device.length > Limits.maxId) return fatal([ErrorCode.BadBody], 0);
    const g = walk.peek();
    if (auth.token !== ctx.token && !(g?.op === Op.AUTH_OK && g.seq === f.seq)) {
      return fatal([ErrorCode.Unauthenticated, ErrorCode.TokenExpired], 0); // (a damaged token may still verify)
    }
    const problem = walk.reply(f.seq, [Op.AUTH_OK], []);
    if (problem) return fail(`AUTH: ${problem}`);
    k = 1;
  }
  const s = walk.session(frames, k);
  if (s.problem) return fail(s.problem);
  if (s.fatalAt !== undefined) return fatal([ErrorCode.BadBody], 0);
  return finish();
}

/** A short-link response. */
export interface ShortOutcome {
  status: number;
  frames: Got[];
}

/** Judges the response to POST /link with `body`. */
export function judgeShort(body: Uint8Array, ctx: OracleContext, out: ShortOutcome): Verdict {
  const walk = new Walk(out.frames);
  const verdict = (v: Omit<Verdict, 'refusals'>): Verdict => ({ ...v, refusals: walk.refusals, handled: walk.handled });
  const fail = (problem: string) => verdict({ problem: `HTTP ${out.status}: ${problem}` });

  const whole = (codes: string[]): Verdict => {
    const status = HTTP_STATUS[codes[0]!] ?? 400;
    const g = out.frames[0];
    if (
      out.status !== status ||
      out.frames.length !== 1 ||
      !g ||
      g.op !== Op.ERROR ||
      g.seq !== 0 ||
      g.body.fatal !== true
    )
      return fail(
        `expected ${status} with one fatal ERROR (${codes.join('|')}), got ${out.frames.map(show).join(', ') || 'no frames'}`,
      );
    if (!codes.includes(g.body.code as string)) return fail(`expected ${codes.join('|')}, got ${show(g)}`);
    return verdict({ fatal: g.body.code as string });
  };

  if (body.length > ctx.limits.maxFrame) return whole([ErrorCode.FrameTooLarge]);
  const frames = decodeAll(body, ctx.limits);
  if (frames instanceof ProtocolError) return whole([frames.code]);
  const [first, ...rest] = frames;
  if (!first) return whole([ErrorCode.BadFrame]);
  walk.handled = [first];
  if (first.op !== Op.AUTH) return whole([ErrorCode.Unauthenticated]);
  let auth: Record<string, unknown>;
  try {
    auth = safeDecode(Op.AUTH, first.body);
  } catch {
    return whole([ErrorCode.BadBody]);
  }
  const device = auth.device as string;
  if (device.length === 0 || device.length > Limits.maxId) return whole([ErrorCode.BadBody]);
  if (auth.token !== ctx.token && out.status !== 200) return whole([ErrorCode.Unauthenticated, ErrorCode.TokenExpired]);
  for (let k = 0; k < rest.length; k++) {
    const f = rest[k]!;
    walk.handled = [first, ...rest.slice(0, k + 1)];
    if (!ROUTED[f.op]) continue;
    try {
      safeDecode(f.op, f.body);
    } catch {
      return whole([ErrorCode.BadBody]);
    }
  }
  walk.handled = frames;
  if (out.status !== 200) return fail(`expected 200, got ${out.frames.map(show).join(', ')}`);
  const problem = walk.reply(first.seq, [Op.AUTH_OK], []);
  if (problem) return fail(`AUTH: ${problem}`);
  for (const f of rest) {
    let p: string | undefined;
    if (f.op === Op.POLL) p = walk.reply(f.seq, [Op.NOTIFY], []);
    else {
      const s = walk.session([f], 0, false);
      p = s.problem ?? (s.fatalAt !== undefined ? 'fatal frame in a 200 response' : undefined);
    }
    if (p) return fail(`${opName(f.op)}#${f.seq}: ${p}`);
  }
  if (walk.i !== out.frames.length) return fail(`extra frames: ${out.frames.slice(walk.i).map(show).join(', ')}`);
  return verdict({});
}
