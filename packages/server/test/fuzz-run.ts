// Runs the frame fuzzer against a real server in a child process, over loopback sockets: mutated
// inputs on long links (authenticated, and a few before AUTH) and on the short link, while two SDK
// engines chat through the same server. Every input's answer is judged by the oracle; the server's
// heap, its links and its stored timeline are checked at the end. Used by fuzz.test.ts (short) and
// scripts/fuzz.ts (long).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BodyOp,
  ConvKind,
  decodeBody,
  decodeFrames,
  frame,
  Limits,
  type Message,
  Op,
  opName,
  type SyncEvent,
} from '@synkey/protocol';
import { createEngine, type Engine, type EngineEvent } from '@synkey/sdk';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { mintToken } from '../src/auth';
import {
  authFrame,
  concat,
  type FuzzContext,
  type FuzzInput,
  frameKey,
  fuzzInput,
  preAuthInput,
  Rng,
  rawFrame,
  regressionInputs,
} from './fuzz-corpus';
import { type Got, judgeLong, judgeShort, type OracleContext, type Verdict } from './fuzz-oracle';

/** What to run. */
export interface FuzzOptions {
  seed: number;
  /** Mutated frames the server must handle over long links (an input refused as a whole counts one). */
  long: number;
  /** Mutated frames the server must handle over the short link. */
  short: number;
  /** Long links fuzzed at the same time. */
  lanes: number;
  /** Short-link requests in flight at the same time. */
  httpWorkers: number;
  /** Share of long-link inputs sent before AUTH, on a fresh link. */
  preAuthShare: number;
  /** Heap growth allowed between the baseline sample and the end, in bytes. */
  heapBound: number;
  /** Progress lines (none when absent). */
  progress?: (line: string) => void;
}

/** What a run did and found. */
export interface FuzzReport {
  seed: number;
  durationMs: number;
  long: {
    messages: number;
    /** Frames in the messages sent. */
    sent: number;
    /** Frames the server handled (up to the fatal one of a message), and how many of them were mutated. */
    frames: number;
    mutated: number;
    preAuth: number;
    linksOpened: number;
    fatal: Record<string, number>;
    closeCodes: Record<string, number>;
    refusals: Record<string, number>;
    nonFatal: number;
    largestServerMessage: number;
    serverBytes: number;
  };
  short: {
    requests: number;
    sent: number;
    frames: number;
    mutated: number;
    withAuth: number;
    statuses: Record<string, number>;
    fatal: Record<string, number>;
    refusals: Record<string, number>;
    /** Requests the client gave up on early, unanswered (the server must let go of them). */
    aborted: number;
  };
  heap: {
    gc: boolean;
    baseline: number;
    end: number;
    peak: number;
    rssBaseline: number;
    rssEnd: number;
    samples: number;
  };
  wellBehaved: { sent: number; acked: number; received: number; expected: number; linkDrops: number };
  timeline: { events: number; messages: number; restartIdentical: boolean } | null;
  connectionsAtEnd: { authenticated: number; all: number; expected: number } | null;
  tolerated: Record<string, number>;
  /** How each hand-picked hostile input ended, per link. */
  regressions: { input: string; link: string; outcome: string }[];
  violations: string[];
}

/** The longest the server may take to answer anything before it counts as hung. */
export const DEADLINE_MS = 10_000;
const MAX_FRAME = 256 * 1024;
const MAX_PAYLOAD = MAX_FRAME * 4; // the server's `ws` maxPayload
const SERVER_LIMIT = { maxFrame: MAX_FRAME, maxFrames: 256 };
/** What the SDK accepts from a server (INBOUND_LIMITS); anything bigger breaks real clients. */
const CLIENT_INBOUND = { maxFrame: 16 << 20, maxFrames: 4096 };
/** The token secret of the server under fuzz. */
export const SECRET = 'fuzz-secret-0123456789abcdef';
const SENTINEL_BASE = 0xfff0_0000;
const MAX_VIOLATIONS = 60;
/** Messages a lane sends as one fuzz user before it moves on to a new one. */
const USER_MESSAGES = 2000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `p`, or `fallback` once `ms` pass — without a timer left behind to hold the process open. */
function within<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
const bump = (m: Record<string, number>, k: string | number, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};

// ---------------------------------------------------------------------------------------------------
// The server process

interface Stats {
  heapUsed: number;
  rss: number;
  gc: boolean;
  connections: number;
}

/** The server under fuzz, in a child process (fuzz-server.ts); `extra` adds server options (e.g. `media`). */
export class ServerProcess {
  url = '';
  wsUrl = '';
  epoch = 0;
  readonly logs: string[] = [];
  readonly exited: Promise<string>;
  private readonly child: ChildProcess;
  private stderr = '';
  private nextId = 1;
  private readonly waiting = new Map<number, (s: Stats) => void>();
  private readyResolve!: () => void;
  readonly ready = new Promise<void>((r) => {
    this.readyResolve = r;
  });
  private closedResolve!: () => void;
  private expectExit = false;

  constructor(dbPath: string, extra: Record<string, unknown> = {}) {
    const entry = fileURLToPath(new URL('./fuzz-server.ts', import.meta.url));
    // FUZZ_SERVER_FLAGS adds node flags to the server (e.g. --cpu-prof to profile it).
    const flags = (process.env.FUZZ_SERVER_FLAGS ?? '').split(' ').filter(Boolean);
    this.child = spawn(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=1024', ...flags, '--import', 'tsx', entry],
      {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        env: { ...process.env, FUZZ_SERVER: JSON.stringify({ dbPath, secret: SECRET, maxFrame: MAX_FRAME, ...extra }) },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      },
    );
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child.on('message', (m: { type: string; id?: number } & Record<string, unknown>) => {
      if (m.type === 'ready') {
        this.url = m.url as string;
        this.wsUrl = m.wsUrl as string;
        this.epoch = m.epoch as number;
        this.readyResolve();
      } else if (m.type === 'stats') {
        this.waiting.get(m.id as number)?.(m as unknown as Stats);
        this.waiting.delete(m.id as number);
      } else if (m.type === 'log') this.logs.push(`${m.msg as string} ${m.err as string}`.trim());
      else if (m.type === 'closed') this.closedResolve?.();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        resolve(
          this.expectExit
            ? ''
            : `server exited (code ${code}, signal ${signal}); stderr: ${this.stderr.trim().slice(-1500)}`,
        );
      });
    });
  }

  /** Heap after GC, RSS and authenticated links, or null when the server does not answer in time. */
  async stats(): Promise<Stats | null> {
    const id = this.nextId++;
    const got = new Promise<Stats>((r) => this.waiting.set(id, r));
    this.child.send({ type: 'stats', id });
    return within(got, DEADLINE_MS * 3, null);
  }

  /**
   * Waits (up to DEADLINE_MS) until the server holds exactly `expected` links, authenticated and in
   * all (its /healthz count); answers the last stats and count seen either way.
   */
  async settledLinks(expected: number): Promise<{ stats: Stats | null; all: number }> {
    const deadline = Date.now() + DEADLINE_MS;
    let stats = await this.stats();
    for (;;) {
      const all = await fetch(`${this.url}/healthz`)
        .then((r) => r.json() as Promise<{ connections: number }>)
        .then((j) => j.connections)
        .catch(() => -1);
      if ((stats?.connections === expected && all === expected) || Date.now() > deadline) return { stats, all };
      await sleep(100);
      stats = await this.stats();
    }
  }

  async close(): Promise<void> {
    this.expectExit = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const closed = new Promise<void>((r) => {
      this.closedResolve = r;
    });
    if (this.child.connected) this.child.send({ type: 'close' });
    await within(
      closed.then(() => this.exited),
      DEADLINE_MS,
      null,
    );
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------------
// A raw long link that records everything

class FuzzLink {
  replies: Got[] = [];
  close?: { code: number; reason: string; afterError: boolean };
  private waiter: (() => void) | null = null;
  private sawError = false;

  private constructor(
    readonly ws: WebSocket,
    private readonly onProblem: (p: string) => void,
    private readonly onMessageSize: (n: number) => void,
  ) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => {
      this.close = { code, reason: reason.toString(), afterError: this.sawError };
      this.wake();
    });
    ws.on('error', () => {}); // a reset while sending shows as the close that follows
  }

  static open(url: string, onProblem: (p: string) => void, onSize: (n: number) => void): Promise<FuzzLink> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: CLIENT_INBOUND.maxFrame * 8 });
      const link = new FuzzLink(ws, onProblem, onSize);
      const t = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no WebSocket open within ${DEADLINE_MS} ms`));
      }, DEADLINE_MS);
      ws.once('open', () => {
        clearTimeout(t);
        resolve(link);
      });
      ws.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  private receive(data: Buffer, isBinary: boolean): void {
    this.onMessageSize(data.length);
    if (!isBinary) this.onProblem('the server sent a text message');
    else if (data.length > CLIENT_INBOUND.maxFrame)
      this.onProblem(`the server sent a ${data.length}-byte message, over the SDK's inbound limit`);
    try {
      const frames = decodeFrames(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), {
        maxFrame: Number.MAX_SAFE_INTEGER,
        maxFrames: Number.MAX_SAFE_INTEGER,
      });
      if (frames.length > SERVER_LIMIT.maxFrames)
        this.onProblem(`the server sent ${frames.length} frames in one message`);
      for (const f of frames) {
        let body: Record<string, unknown>;
        try {
          body = decodeBody(f.op as BodyOp, f.body) as Record<string, unknown>;
        } catch (e) {
          this.onProblem(`the server sent ${opName(f.op)} with a bad body: ${(e as Error).message}`);
          continue;
        }
        if (f.op === Op.ERROR) this.sawError = true;
        if (f.op === Op.NOTIFY || (f.op === Op.PING && f.seq === 0)) continue;
        if (
          ![
            Op.AUTH_OK,
            Op.PONG,
            Op.ERROR,
            Op.OK,
            Op.SEND_ACK,
            Op.SYNC_REPLY,
            Op.CONV,
            Op.CONV_LIST_REPLY,
            Op.HISTORY_REPLY,
          ].includes(f.op as never)
        )
          this.onProblem(`the server sent a client op ${opName(f.op)}`);
        this.replies.push({ op: f.op, seq: f.seq, body });
      }
    } catch (e) {
      this.onProblem(`the server sent undecodable frames: ${(e as Error).message}`);
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  get open(): boolean {
    return this.close === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  send(input: FuzzInput | Uint8Array): void {
    if (input instanceof Uint8Array) this.ws.send(input);
    else if (input.kind === 'text') this.ws.send(input.text ?? '');
    else if (input.kind === 'bad-utf8-text') this.ws.send(Buffer.from(input.bytes), { binary: false });
    else if (input.fragments) {
      let at = 0;
      for (const cut of input.fragments) {
        this.ws.send(input.bytes.subarray(at, cut), { binary: true, fin: false });
        at = cut;
      }
      this.ws.send(input.bytes.subarray(at), { binary: true, fin: true });
    } else this.ws.send(input.bytes);
  }

  /** Resolves true once `done()` holds, or the link closed; false after `ms`. */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done() && !this.close) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return true;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

// ---------------------------------------------------------------------------------------------------
// Well-behaved clients: two SDK engines chatting the whole time

interface SentMessage {
  from: string;
  conv: number;
  cmid: string;
  text: string;
  at: number;
  acked: boolean;
  received: boolean;
}

class WellBehaved {
  readonly sent = new Map<string, SentMessage>();
  readonly order: SentMessage[] = [];
  linkDrops = 0;
  private readonly engines: { user: string; engine: Engine; online: boolean }[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private readonly reported = new Set<string>();

  constructor(
    private readonly url: string,
    private readonly users: [string, string],
    private readonly convs: { direct: number; group: number },
    private readonly violation: (v: string) => void,
  ) {}

  async start(): Promise<void> {
    for (const user of this.users) {
      const engine = createEngine({
        server: this.url,
        getToken: () => mintToken(SECRET, user),
        WebSocket,
        transport: 'ws',
        deviceId: `${user}-engine`,
        reconnectPolicy: { minMs: 50, maxMs: 400 },
      });
      const entry = { user, engine, online: false };
      engine.subscribe((e) => this.onEvent(entry, e));
      this.engines.push(entry);
    }
    const deadline = Date.now() + DEADLINE_MS;
    while (!this.engines.every((e) => e.online)) {
      if (Date.now() > deadline) throw new Error('the SDK engines did not come online');
      await sleep(20);
    }
    for (const e of this.engines) this.loops.push(this.sendLoop(e.user, e.engine));
    this.loops.push(this.watch());
  }

  private onEvent(entry: { user: string; online: boolean }, e: EngineEvent): void {
    if (e.type === 'connection') {
      if (e.state === 'online') entry.online = true;
      else if (entry.online) {
        entry.online = false;
        this.linkDrops++;
        this.violation(`well-behaved ${entry.user}: link went ${e.state}`);
      }
    } else if (e.type === 'error') {
      this.violation(`well-behaved ${entry.user}: engine error ${e.error.message}`);
    } else if (e.type === 'messages') {
      for (const m of e.messages) {
        if (m.sender === entry.user && m.cmid) {
          if (m.state === 'sent' || m.state === 'delivered' || m.state === 'read') {
            this.ackedCmids.add(m.cmid);
            const s = this.sent.get(m.cmid);
            if (s) s.acked = true;
          }
          if (m.state === 'failed') this.violation(`well-behaved ${entry.user}: message ${m.cmid} failed (${m.error})`);
        } else if (m.sender !== entry.user && m.id !== undefined && this.users.includes(m.sender) && m.text) {
          const s = this.byText.get(m.text);
          if (s) s.received = true;
        }
      }
    }
  }

  private readonly byText = new Map<string, SentMessage>();
  private readonly ackedCmids = new Set<string>();

  private async sendLoop(user: string, engine: Engine): Promise<void> {
    let n = 0;
    while (this.running) {
      const outstanding = this.order.filter((s) => s.from === user && !s.acked).length;
      if (outstanding < 8) {
        const conv = n % 5 === 4 ? this.convs.group : this.convs.direct;
        const text = `${user} says ${n++} ${'·'.repeat(n % 40)}`;
        // Known before the send, so that the other engine may receive it before send() resolves.
        const s: SentMessage = { from: user, conv, cmid: '', text, at: Date.now(), acked: false, received: false };
        this.byText.set(text, s);
        try {
          s.cmid = await engine.send(conv, { text });
          s.acked = this.ackedCmids.has(s.cmid);
          this.sent.set(s.cmid, s);
          this.order.push(s);
        } catch (e) {
          this.violation(`well-behaved ${user}: send refused: ${(e as Error).message}`);
        }
      }
      await sleep(60);
    }
  }

  /** Flags a message not acked, or not received by the other engine, within the deadline. */
  private async watch(): Promise<void> {
    while (this.running) {
      this.checkStalls();
      await sleep(250);
    }
  }

  private checkStalls(): void {
    const now = Date.now();
    for (const s of this.order) {
      if (now - s.at < DEADLINE_MS || this.reported.has(s.cmid)) continue;
      if (!s.acked || !s.received) {
        this.reported.add(s.cmid);
        this.violation(
          `well-behaved ${s.from}: "${s.text.slice(0, 30)}" not ${s.acked ? 'received by the other engine' : 'acknowledged'} within ${DEADLINE_MS} ms`,
        );
      }
    }
  }

  /** Stops sending and waits for everything sent to be acked and received. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    const deadline = Date.now() + DEADLINE_MS;
    while (this.order.some((s) => !s.acked || !s.received) && Date.now() < deadline) await sleep(50);
    this.checkStalls();
    for (const s of this.order)
      if ((!s.acked || !s.received) && !this.reported.has(s.cmid))
        this.violation(`well-behaved ${s.from}: "${s.text.slice(0, 30)}" never ${s.acked ? 'received' : 'acked'}`);
  }

  async close(): Promise<void> {
    for (const e of this.engines) e.online = false; // going offline now is ours, not a drop
    await Promise.all(this.engines.map((e) => e.engine.close()));
  }
}

// ---------------------------------------------------------------------------------------------------
// The timeline check

interface TimelineRead {
  newest: number;
  events: SyncEvent[];
}

/** Syncs `user`'s whole timeline from 0 on a fresh long link, checking every page joins the last. */
async function readTimeline(wsUrl: string, user: string, device: string): Promise<TimelineRead> {
  const problems: string[] = [];
  const link = await FuzzLink.open(
    wsUrl,
    (p) => problems.push(p),
    () => {},
  );
  let seq = 1;
  const request = async (bytes: Uint8Array, s: number): Promise<Got> => {
    link.send(bytes);
    await link.until(() => link.replies.some((g) => g.seq === s), DEADLINE_MS);
    const g = link.replies.find((r) => r.seq === s);
    if (!g) throw new Error(`no reply to request ${s} on the timeline link`);
    return g;
  };
  try {
    const ok = await request(frame(Op.AUTH, seq, { token: await mintToken(SECRET, user), device }), seq++);
    if (ok.op !== Op.AUTH_OK) throw new Error(`timeline AUTH refused: ${JSON.stringify(ok.body)}`);
    const newest = ok.body.seq as number;
    const epoch = ok.body.epoch as number;
    const events: SyncEvent[] = [];
    let at = 0;
    for (;;) {
      const s = seq++;
      const r = await request(frame(Op.SYNC, s, { epoch, seq: at, limit: Limits.maxSyncPage }), s);
      if (r.op !== Op.SYNC_REPLY) throw new Error(`SYNC refused: ${JSON.stringify(r.body)}`);
      const b = r.body as { from: number; seq: number; more: boolean; reset?: boolean; events: SyncEvent[] };
      if (b.reset) throw new Error(`SYNC from ${at} answered with a reset`);
      if (b.from !== at) throw new Error(`SYNC_REPLY from ${b.from}, expected ${at}`);
      if (b.seq !== b.from + b.events.length) throw new Error('SYNC_REPLY seq is not from + events');
      events.push(...b.events);
      at = b.seq;
      if (!b.more) break;
      if (b.events.length === 0) throw new Error('SYNC_REPLY with more and no events');
    }
    if (at !== newest) throw new Error(`the timeline ends at ${at}, AUTH_OK said ${newest}`);
    if (problems.length > 0) throw new Error(problems.join('; '));
    return { newest, events };
  } finally {
    link.ws.close();
  }
}

/** Checks the well-behaved user's timeline holds exactly what the engines sent, gapless per conversation. */
function checkTimeline(
  t: TimelineRead,
  wb: WellBehaved,
  me: string,
  convs: { direct: number; group: number },
): string[] {
  const problems: string[] = [];
  const msgs = t.events.flatMap((e) => (e.msg ? [e.msg] : []));
  const ids = new Set<number>();
  const byConv = new Map<number, Message[]>();
  for (const m of msgs) {
    if (ids.has(m.id)) problems.push(`message ${m.id} appears twice in the timeline`);
    ids.add(m.id);
    const list = byConv.get(m.conv) ?? [];
    list.push(m);
    byConv.set(m.conv, list);
  }
  for (const [conv, list] of byConv) {
    const firstSeq = list[0]?.convSeq ?? 1;
    if ((conv === convs.direct || conv === convs.group) && firstSeq !== 1)
      problems.push(`conversation ${conv} starts at convSeq ${firstSeq}`);
    list.forEach((m, i) => {
      if (m.convSeq !== firstSeq + i) problems.push(`conversation ${conv}: convSeq ${m.convSeq} at position ${i}`);
    });
  }
  for (const conv of [convs.direct, convs.group]) {
    const stored = byConv.get(conv) ?? [];
    for (const from of new Set(wb.order.map((s) => s.from))) {
      const want = wb.order.filter((s) => s.from === from && s.conv === conv).map((s) => s.text);
      const got = stored.filter((m) => m.sender === from).map((m) => m.text);
      if (JSON.stringify(got) !== JSON.stringify(want))
        problems.push(
          `conversation ${conv}: ${from}'s ${got.length} stored messages differ from the ${want.length} sent`,
        );
    }
    if (conv === convs.direct) {
      const strangers = stored.filter((m) => !wb.order.some((s) => s.from === m.sender));
      if (strangers.length > 0) problems.push(`the direct conversation holds ${strangers.length} messages nobody sent`);
    }
    const mine = wb.order.filter((s) => s.from === me && s.conv === conv).map((s) => s.cmid);
    const cmids = stored.filter((m) => m.sender === me).map((m) => m.cmid);
    if (JSON.stringify(mine) !== JSON.stringify(cmids))
      problems.push(`conversation ${conv}: my cmids differ from the sent ones`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// The run

/** POSTs `body` to the short link; rejects (TimeoutError) after `timeoutMs`. */
async function post(
  url: string,
  body: Uint8Array,
  timeoutMs = DEADLINE_MS,
  cancel?: AbortSignal,
): Promise<{ status: number; bytes: Uint8Array }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const res = await fetch(`${url}/link`, {
    method: 'POST',
    body: body as Uint8Array<ArrayBuffer>, // every buffer here is made with new Uint8Array(…)
    headers: { 'content-type': 'application/octet-stream' },
    signal: cancel ? AbortSignal.any([timeout, cancel]) : timeout,
  });
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
}

async function setupPost(url: string, user: string, frames: Uint8Array[]): Promise<Got[]> {
  const token = await mintToken(SECRET, user);
  const { status, bytes } = await post(url, concat([frame(Op.AUTH, 1, { token, device: `${user}-setup` }), ...frames]));
  if (status !== 200) throw new Error(`setup POST for ${user} answered ${status}`);
  return decodeFrames(bytes).map((f) => ({
    op: f.op,
    seq: f.seq,
    body: decodeBody(f.op as BodyOp, f.body) as Record<string, unknown>,
  }));
}

const convId = (g: Got | undefined): number => {
  if (g?.op !== Op.CONV) throw new Error(`setup: expected CONV, got ${JSON.stringify(g?.body)}`);
  return (g.body.conv as { id: number }).id;
};

/** Runs the fuzzer once; never throws for what it finds (see `violations`). */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const say = opts.progress ?? (() => {});
  const violations: string[] = [];
  let dropped = 0;
  const violation = (v: string) => {
    if (violations.length < MAX_VIOLATIONS) violations.push(v);
    else dropped++;
  };
  const report: FuzzReport = {
    seed: opts.seed,
    durationMs: 0,
    long: {
      messages: 0,
      sent: 0,
      frames: 0,
      mutated: 0,
      preAuth: 0,
      linksOpened: 0,
      fatal: {},
      closeCodes: {},
      refusals: {},
      nonFatal: 0,
      largestServerMessage: 0,
      serverBytes: 0,
    },
    short: {
      requests: 0,
      sent: 0,
      frames: 0,
      mutated: 0,
      withAuth: 0,
      statuses: {},
      fatal: {},
      refusals: {},
      aborted: 0,
    },
    heap: { gc: false, baseline: 0, end: 0, peak: 0, rssBaseline: 0, rssEnd: 0, samples: 0 },
    wellBehaved: { sent: 0, acked: 0, received: 0, expected: 0, linkDrops: 0 },
    timeline: null,
    connectionsAtEnd: null,
    tolerated: {},
    regressions: [],
    violations,
  };
  const dir = mkdtempSync(join(tmpdir(), 'synkey-fuzz-'));
  const dbPath = join(dir, 'fuzz.db');
  let server = new ServerProcess(dbPath);
  let crashed: string | null = null;
  let stopped = false;
  let stopNow!: () => void;
  const stopping = new Promise<void>((resolve) => {
    stopNow = resolve;
  });
  const stop = () => {
    stopped = true;
    stopNow();
  };
  /** Sleeps `ms`, or less when the run stops. */
  const nap = (ms: number) => within(stopping, ms, undefined);
  server.exited.then((why) => {
    if (why) {
      crashed = why;
      stop();
      violations.unshift(why);
    }
  });
  let wb: WellBehaved | null = null;
  try {
    await Promise.race([server.ready, server.exited.then((w) => Promise.reject(new Error(w || 'server exited')))]);
    say(`server ${server.url}, seed ${opts.seed}`);

    // The world: two well-behaved users with a direct and a group conversation shared with the fuzzers.
    const wbUsers: [string, string] = ['wb-alice', 'wb-bob'];
    const laneUsers = Array.from({ length: opts.lanes }, (_, i) => `fz-${i}`);
    const httpUser = 'fz-http';
    const [, direct, group] = await setupPost(server.url, wbUsers[0], [
      frame(Op.CONV_CREATE, 2, { kind: ConvKind.Direct, members: [wbUsers[1]] }),
      frame(Op.CONV_CREATE, 3, {
        kind: ConvKind.Group,
        members: [wbUsers[1], ...laneUsers, httpUser],
        title: 'fuzz room',
      }),
    ]);
    const convs = { direct: convId(direct), group: convId(group) };
    const contextFor = async (user: string): Promise<FuzzContext> => {
      const [, own] = await setupPost(server.url, user, [
        frame(Op.CONV_CREATE, 2, { kind: ConvKind.Direct, members: ['fz-peer'] }),
      ]);
      const mine = convId(own);
      return {
        user,
        token: await mintToken(SECRET, user),
        device: `${user}-fuzz`,
        epoch: server.epoch,
        // Mostly its own conversation; sometimes the shared group, a foreign one or a missing one.
        convs: [mine, mine, mine, mine, mine, mine, mine, mine, convs.group, convs.direct, convs.direct, 1_000_000_007],
        peers: ['fz-peer', 'fz-peer-2', ...laneUsers, wbUsers[1]],
        maxFrame: MAX_FRAME,
        badTokens: [
          await mintToken(SECRET, user, { ttlSeconds: -60 }), // expired: TOKEN_EXPIRED
          await mintToken('another-secret-0123456789abcdef', user),
          'not-a-token',
        ],
      };
    };
    const laneContexts = await Promise.all(laneUsers.map(contextFor));
    const httpContext = await contextFor(httpUser);

    wb = new WellBehaved(server.url, wbUsers, convs, violation);
    await wb.start();
    const first = await server.stats();
    if (first) report.heap.gc = first.gc;

    const master = new Rng(opts.seed);
    /** Request seqs for one lane or worker: 1, 2, 3… below the sentinels' range. */
    const seqs = () => {
      let n = 0;
      return () => {
        n = n >= SENTINEL_BASE - 1 ? 1 : n + 1;
        return n;
      };
    };
    let sentinels = 0;
    const oracle = (ctx: FuzzContext): OracleContext => ({
      token: ctx.token,
      limits: SERVER_LIMIT,
      maxPayload: MAX_PAYLOAD,
    });
    /**
     * Counts what the server actually handled: the frames up to a fatal one, and among them those that
     * went in mutated; an input refused as a whole (unreadable, too large, text) is one mutated frame.
     */
    const record = (
      target: {
        fatal: Record<string, number>;
        refusals: Record<string, number>;
        sent: number;
        frames: number;
        mutated: number;
      },
      input: FuzzInput,
      v: Verdict,
    ) => {
      target.sent += input.frames;
      if (v.handled) {
        target.frames += v.handled.length;
        target.mutated += v.handled.filter((f) => !input.clean.has(frameKey(f))).length;
      } else {
        target.frames += 1;
        target.mutated += 1;
      }
      if (v.fatal) bump(target.fatal, v.fatal);
      for (const r of v.refusals) bump(target.refusals, r);
      if (v.tolerated) bump(report.tolerated, v.tolerated);
    };
    const describe = (input: FuzzInput, bytes = input.bytes) =>
      `[${input.notes.join(', ') || 'valid'}] ${bytes.length} bytes: ${Buffer.from(bytes.subarray(0, 96)).toString('hex')}${bytes.length > 96 ? '…' : ''}`;
    const onSize = (n: number) => {
      report.long.serverBytes += n;
      if (n > report.long.largestServerMessage) report.long.largestServerMessage = n;
    };

    // ---- heap sampling
    let baselineTaken = false;
    const heapLoop = (async () => {
      while (!stopped) {
        await nap(2000);
        if (stopped) break;
        const s = await server.stats();
        if (!s) {
          if (!stopped) violation(`the server did not report its heap within ${DEADLINE_MS * 3} ms`);
          continue;
        }
        report.heap.samples++;
        report.heap.peak = Math.max(report.heap.peak, s.heapUsed);
        if (!baselineTaken && report.long.mutated >= opts.long * 0.1) {
          baselineTaken = true;
          report.heap.baseline = s.heapUsed;
          report.heap.rssBaseline = s.rss;
        }
      }
    })();
    const progressLoop = (async () => {
      while (!stopped) {
        await nap(5000);
        if (!stopped)
          say(
            `long: ${report.long.mutated}/${opts.long} mutated frames in ${report.long.messages} messages, ${report.long.linksOpened} links; short: ${report.short.mutated}/${opts.short} in ${report.short.requests} requests; well-behaved sent ${wb?.order.length ?? 0}; violations ${violations.length + dropped}`,
          );
      }
    })();

    // ---- long links
    const runInput = async (
      link: FuzzLink,
      input: FuzzInput,
      authed: boolean,
      ctx: FuzzContext,
      regression = false,
    ): Promise<void> => {
      link.replies = [];
      sentinels = (sentinels + 1) % 0xfffff;
      let sentinel = SENTINEL_BASE + sentinels;
      try {
        const seqs = new Set(decodeFrames(input.bytes, { maxFrame: 1 << 30, maxFrames: 1 << 20 }).map((f) => f.seq));
        while (seqs.has(sentinel)) sentinel++;
      } catch {}
      link.send(input);
      link.send(authed ? rawFrame(Op.PING, sentinel, new Uint8Array(0)) : authFrame(ctx, sentinel));
      const answered = await link.until(() => link.replies.some((g) => g.seq === sentinel), DEADLINE_MS);
      if (!answered) {
        const fatal = link.replies.some((g) => g.op === Op.ERROR && g.body.fatal === true);
        violation(
          `long link: ${fatal ? 'a fatal ERROR but no close' : 'no answer'} within ${DEADLINE_MS} ms to ${describe(input)}`,
        );
        link.terminate();
        return;
      }
      const v = judgeLong(input, authed, oracle(ctx), { replies: link.replies, sentinel, close: link.close });
      record(report.long, input, v);
      if (link.close) bump(report.long.closeCodes, link.close.code);
      else report.long.nonFatal++;
      if (regression)
        report.regressions.push({
          input: input.notes.join(', '),
          link: authed ? 'long' : 'long, before AUTH',
          outcome: v.problem
            ? `PROBLEM ${v.problem}`
            : link.close
              ? `${v.fatal ?? 'no ERROR'}, close ${link.close.code}`
              : 'answered, link open',
        });
      if (v.problem) violation(`long link${authed ? '' : ' (before AUTH)'}: ${v.problem} — input ${describe(input)}`);
    };

    const openLink = async (ctx: FuzzContext, auth: boolean): Promise<FuzzLink | null> => {
      try {
        const link = await FuzzLink.open(server.wsUrl, (p) => violation(`long link: ${p}`), onSize);
        report.long.linksOpened++;
        if (!auth) return link;
        link.send(authFrame(ctx, 1));
        await link.until(() => link.replies.length > 0, DEADLINE_MS);
        if (link.replies[0]?.op !== Op.AUTH_OK) {
          violation(`long link: a valid AUTH got ${link.replies[0] ? opName(link.replies[0].op) : 'no answer'}`);
          link.terminate();
          return null;
        }
        return link;
      } catch (e) {
        if (!stopped) violation(`long link: cannot connect: ${(e as Error).message}`);
        return null;
      }
    };

    const lane = async (i: number, rng: Rng, regressions: boolean): Promise<void> => {
      let ctx = laneContexts[i]!;
      let generation = 0;
      const nextSeq = seqs();
      // The hand-picked inputs first, each on an authenticated link and before AUTH.
      const extra = regressions ? regressionInputs(ctx, nextSeq) : [];
      let link: FuzzLink | null = null;
      for (let n = 0; (n < extra.length * 2 || report.long.mutated < opts.long) && !stopped; n++) {
        const regression = n < extra.length * 2;
        if (!regression && n % USER_MESSAGES === USER_MESSAGES - 1) {
          // A new identity now and then bounds each fuzz user's conversations and timeline, and so
          // the cost of its SYNC and CONV_LIST, however long the run.
          ctx = await contextFor(`fz-${i}.${++generation}`);
          link?.ws.close();
          link = null;
        }
        const preAuth = regression ? n >= extra.length : rng.chance(opts.preAuthShare);
        const input = regression
          ? extra[n % extra.length]!
          : (preAuth ? preAuthInput : fuzzInput)(rng, ctx, { seq: nextSeq, giant: true });
        report.long.messages++;
        if (preAuth) {
          report.long.preAuth++;
          const fresh = await openLink(ctx, false);
          if (fresh) {
            await runInput(fresh, input, false, ctx, regression);
            fresh.ws.close();
          }
        } else {
          if (link && !link.open) {
            if (!link.close) link.terminate();
            link = null;
          }
          link ??= await openLink(ctx, true);
          if (link) await runInput(link, input, true, ctx, regression);
        }
      }
      link?.ws.close();
    };

    // ---- short link
    const pending = new Set<Promise<void>>();
    /** Cuts the POLLs still held once everything else is done (a POLL may be held for 30 s). */
    const cutPolls = new AbortController();
    const shortRequest = async (
      input: FuzzInput,
      withAuth: boolean,
      seq: number,
      abortAfter: number | null,
      regression = false,
    ): Promise<void> => {
      const ctx = httpContext;
      const body = withAuth ? concat([authFrame(ctx, seq), input.bytes]) : input.bytes;
      if (abortAfter !== null) {
        // The client hangs up early (a closed tab): nothing to judge, but the server must let go.
        report.short.aborted++;
        await post(server.url, body, abortAfter).catch(() => undefined);
        return;
      }
      let polls = false;
      try {
        polls = decodeFrames(body, SERVER_LIMIT).some((f) => f.op === Op.POLL);
      } catch {}
      const deadline = DEADLINE_MS + (polls ? Limits.maxPollMs : 0);
      let res: { status: number; bytes: Uint8Array };
      try {
        res = await post(server.url, body, deadline, polls ? cutPolls.signal : undefined);
      } catch (e) {
        if (cutPolls.signal.aborted && polls) {
          report.short.aborted++;
          return;
        }
        if (stopped) return;
        const err = e as Error & { cause?: { code?: string } };
        const why =
          err.name === 'TimeoutError' ? `no response within ${deadline} ms` : `${err.message} ${err.cause?.code ?? ''}`;
        violation(`short link: ${why} — input ${describe(input, body)}`);
        return;
      }
      report.short.requests++;
      if (withAuth) report.short.withAuth++;
      bump(report.short.statuses, res.status);
      if (![200, 400, 401, 413, 429].includes(res.status))
        violation(`short link: status ${res.status} — input ${describe(input, body)}`);
      let frames: Got[];
      try {
        frames = decodeFrames(res.bytes, CLIENT_INBOUND).map((f) => ({
          op: f.op,
          seq: f.seq,
          body: decodeBody(f.op as BodyOp, f.body) as Record<string, unknown>,
        }));
      } catch (e) {
        violation(
          `short link: undecodable response (${res.status}): ${(e as Error).message} — input ${describe(input, body)}`,
        );
        return;
      }
      const v = judgeShort(body, oracle(ctx), { status: res.status, frames });
      record(report.short, input, v);
      if (regression)
        report.regressions.push({
          input: input.notes.join(', '),
          link: withAuth ? 'short, after AUTH' : 'short',
          outcome: v.problem ? `PROBLEM ${v.problem}` : `HTTP ${res.status}${v.fatal ? ` ${v.fatal}` : ''}`,
        });
      if (v.problem)
        violation(
          `short link${withAuth ? ' (after a valid AUTH)' : ''}: ${v.problem} — input ${describe(input, body)}`,
        );
    };
    const httpWorker = async (rng: Rng, regressions: boolean): Promise<void> => {
      const nextSeq = seqs();
      const extra = regressions ? regressionInputs(httpContext, nextSeq) : [];
      for (let n = 0; (n < extra.length * 2 || report.short.mutated < opts.short) && !stopped; n++) {
        const regression = n < extra.length * 2;
        // After a valid AUTH the input reaches the dispatcher; without one it starts with an AUTH of its own.
        const withAuth = regression ? n >= extra.length : rng.chance(0.6);
        const input = regression
          ? extra[n % extra.length]!
          : (withAuth ? fuzzInput : preAuthInput)(rng, httpContext, { seq: nextSeq, giant: true });
        let polls = false;
        try {
          polls = decodeFrames(input.bytes, SERVER_LIMIT).some((f) => f.op === Op.POLL);
        } catch {}
        // A POLL may be held for up to 30 s: let it wait on its own.
        const abortAfter = !regression && rng.chance(0.03) ? rng.int(50) : null;
        const p = shortRequest(input, withAuth, nextSeq(), abortAfter, regression).finally(() => {
          pending.delete(p);
        });
        pending.add(p);
        if (!polls || pending.size > 200) await p;
      }
    };

    const laneRngs = Array.from({ length: opts.lanes }, () => master.fork());
    const httpRngs = Array.from({ length: opts.httpWorkers }, () => master.fork());
    await Promise.all([
      ...laneRngs.map((rng, i) => lane(i, rng, i === 0)),
      ...httpRngs.map((rng, i) => httpWorker(rng, i === 0)),
    ]);
    // Held POLLs answer when the timeline passes their seq or their wait runs out (up to 30 s): give
    // them a moment, then hang up on the rest.
    await within(Promise.all(pending), 3000, undefined);
    cutPolls.abort();
    await Promise.all(pending);

    // ---- the end: links back to the well-behaved ones, the heap flat, the timeline intact
    if (!crashed) {
      const { stats: s, all } = await server.settledLinks(2);
      report.connectionsAtEnd = { authenticated: s?.connections ?? -1, all, expected: 2 };
      if (s?.connections !== 2 || all !== 2)
        violation(
          `links leak: ${s?.connections} authenticated and ${all} open links at the end, expected the 2 well-behaved ones`,
        );
      if (s) endHeap(report.heap, s, baselineTaken ? undefined : first, opts.heapBound, violation);
    }
    stop();
    await Promise.all([heapLoop, progressLoop]);

    if (!crashed) {
      await wb.stop();
      report.wellBehaved = {
        sent: wb.order.length,
        acked: wb.order.filter((s) => s.acked).length,
        received: wb.order.filter((s) => s.received).length,
        expected: wb.order.length,
        linkDrops: wb.linkDrops,
      };
      const behaved = wb;
      await wb.close();
      wb = null;
      // Once the engines' links are gone, nothing writes to wb-alice's timeline any more.
      const quiet = Date.now() + DEADLINE_MS;
      while ((await server.stats())?.connections !== 0 && Date.now() < quiet) await sleep(50);
      const read = async (device: string) => {
        try {
          return await readTimeline(server.wsUrl, wbUsers[0], device);
        } catch (e) {
          violation(`timeline: ${(e as Error).message}`);
          return null;
        }
      };
      const live = await read('fresh-device-1');
      if (live) for (const p of checkTimeline(live, behaved, wbUsers[0], convs)) violation(`timeline: ${p}`);
      for (const l of server.logs) violation(`server logged: ${l}`);
      await server.close();

      const db = new Database(dbPath, { readonly: true });
      const integrity = db.pragma('integrity_check', { simple: true });
      const fk = db.pragma('foreign_key_check') as unknown[];
      db.close();
      if (integrity !== 'ok') violation(`database integrity_check: ${String(integrity)}`);
      if (fk.length > 0) violation(`database foreign_key_check: ${fk.length} rows`);

      server = new ServerProcess(dbPath);
      server.exited.then((why) => why && violation(`restarted ${why}`));
      await server.ready;
      const again = await read('fresh-device-2');
      if (live && again) {
        const identical = JSON.stringify(again.events) === JSON.stringify(live.events) && again.newest === live.newest;
        if (!identical) violation('the timeline read after a restart differs from the one read before');
        report.timeline = {
          events: live.events.length,
          messages: live.events.filter((e) => e.msg).length,
          restartIdentical: identical,
        };
      }
    }
  } catch (e) {
    violation(`fuzz run aborted: ${(e as Error).stack ?? e}`);
  } finally {
    stop();
    await wb?.close().catch(() => {});
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (dropped > 0) violations.push(`… and ${dropped} more violations`);
  report.durationMs = Date.now() - started;
  return report;
}

/** Bytes as MiB with one decimal. */
/**
 * Records the server's heap at the end of a run and flags growth past `bound` above the baseline;
 * `first` is the first sample, the baseline when none was taken while the run was quiet.
 */
export function endHeap(
  heap: FuzzReport['heap'],
  s: Stats,
  first: Stats | null | undefined,
  bound: number,
  violation: (message: string) => void,
): void {
  heap.end = s.heapUsed;
  heap.rssEnd = s.rss;
  heap.peak = Math.max(heap.peak, s.heapUsed);
  if (first !== undefined) {
    heap.baseline = first?.heapUsed ?? 0;
    heap.rssBaseline = first?.rss ?? 0;
  }
  const growth = s.heapUsed - heap.baseline;
  if (growth > bound) violation(`server heap grew by ${mib(growth)} (bound ${(bound / 2 ** 20).toFixed(0)} MiB)`);
}

export const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
/** A tally as `key n, key n` from the largest count down. */
export const counts = (m: Record<string, number>) =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '—';

/** The report as printable lines. */
export function formatReport(r: FuzzReport): string {
  const lines = [
    `seed ${r.seed}, ${(r.durationMs / 1000).toFixed(1)} s`,
    `long link: ${r.long.messages} messages of ${r.long.sent} frames over ${r.long.linksOpened} links (${r.long.preAuth} messages before AUTH); the server handled ${r.long.frames} frames (the rest followed a fatal one), ${r.long.mutated} of them mutated`,
    `  answered without closing: ${r.long.nonFatal}; refusals: ${counts(r.long.refusals)}`,
    `  fatal ERRORs: ${counts(r.long.fatal)}`,
    `  close codes: ${counts(r.long.closeCodes)}`,
    `  server sent ${mib(r.long.serverBytes)}; largest message ${r.long.largestServerMessage} bytes`,
    `short link: ${r.short.requests} requests of ${r.short.sent} frames (${r.short.withAuth} after a valid AUTH); the server handled ${r.short.frames} frames, ${r.short.mutated} of them mutated`,
    `  HTTP statuses: ${counts(r.short.statuses)}; ${r.short.aborted} more requests abandoned by the client (hung up early, or a POLL still held at the end)`,
    `  fatal ERRORs: ${counts(r.short.fatal)}; refusals: ${counts(r.short.refusals)}`,
    `server heap (after GC${r.heap.gc ? '' : ' — NOT AVAILABLE'}): baseline ${mib(r.heap.baseline)}, end ${mib(r.heap.end)}, peak ${mib(r.heap.peak)} over ${r.heap.samples} samples; RSS ${mib(r.heap.rssBaseline)} → ${mib(r.heap.rssEnd)}`,
    `well-behaved engines: sent ${r.wellBehaved.sent}, acked ${r.wellBehaved.acked}, received by the other ${r.wellBehaved.received}/${r.wellBehaved.expected}, link drops ${r.wellBehaved.linkDrops}`,
    r.connectionsAtEnd
      ? `links at the end: ${r.connectionsAtEnd.authenticated} authenticated, ${r.connectionsAtEnd.all} open (expected ${r.connectionsAtEnd.expected})`
      : 'links at the end: not checked',
    r.timeline
      ? `timeline of wb-alice from 0: ${r.timeline.events} events, ${r.timeline.messages} messages, identical after restart: ${r.timeline.restartIdentical}`
      : 'timeline: not checked',
    `hand-picked hostile inputs: ${r.regressions.length} runs, ${r.regressions.filter((x) => x.outcome.startsWith('PROBLEM')).length} problems (allocation bombs: ${[...new Set(r.regressions.filter((x) => x.input.includes('bomb')).map((x) => `${x.link} → ${x.outcome}`))].join('; ')})`,
    `tolerated: ${counts(r.tolerated)}`,
    r.violations.length === 0 ? 'violations: none' : `VIOLATIONS (${r.violations.length}):`,
    ...r.violations.map((v) => `  - ${v}`),
  ];
  return lines.join('\n');
}
