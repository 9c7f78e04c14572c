// The chaos soak: a real server in a child process (file database), a fault-injecting proxy in front
// of it, and hundreds of real SDK engines in 1:1 and group conversations sending through the proxy
// while the server is killed with SIGKILL and restarted on the same port. Then a drain with faults
// off (failed messages retried, as a user would), and the check of every client's store and of the
// server's database. Used by soak.test.ts (short) and scripts/soak.ts (long).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BodyOp, ConvKind, decodeBody, decodeFrames, frame, Op } from '@synkey/protocol';
import type { ReconnectPolicy, SendPolicy } from '@synkey/sdk';
import Database from 'better-sqlite3';
import { mintToken } from '../src/auth';
import { Rng } from './fuzz-corpus';
import {
  checkDatabase,
  checkDeliveries,
  type DbRows,
  type DbVerdict,
  type DeliveryVerdict,
  type SentRecord,
} from './soak-check';
import { SoakClient } from './soak-fleet';
import { FAULT_KINDS, type FaultKind, type FaultPlan, FaultProxy } from './soak-proxy';
import { SoakServer } from './soak-server';
import { messageText, planWorld, type WorldPlan } from './soak-world';

/** What to run. */
export interface SoakOptions {
  seed: number;
  /** Simulated clients (one user, one engine each). */
  clients: number;
  /** Messages to send in all. */
  messages: number;
  /** SIGKILL + restarts of the server while the messages go out. */
  kills: number;
  /** The messages (and kills) are spread over this long. */
  sendMs: number;
  /** Share of the clients on the short link only, and on the automatic choice. */
  httpShare: number;
  autoShare: number;
  plan: FaultPlan;
  /** How long the server stays down after a kill before it is started again, drawn from the range. */
  downMs: [number, number];
  /** Engine policies (default: the SDK's, as a real device). */
  reconnect?: Partial<ReconnectPolicy>;
  send?: Partial<SendPolicy>;
  /** Hard deadline of the drain. */
  drainMs: number;
  /** How long the drain waits for every client to sync by itself before it cuts every link once. */
  quietMs: number;
  progress?: (line: string) => void;
}

/** What a run did and found. */
export interface SoakReport {
  seed: number;
  clients: number;
  transports: Record<string, number>;
  conversations: { direct: number; group: number; largest: number };
  durationMs: number;
  /** Server start, conversations created, every engine online with its conversations. */
  setupMs: number;
  sendPhaseMs: number;
  drainMs: number;
  kills: number;
  restartsMs: number[];
  faults: Record<FaultKind, number>;
  proxy: {
    connections: number;
    websockets: number;
    wsAware: number;
    upstreamRefused: number;
    cut: number;
    wsDroppedOps: Record<string, number>;
    wsDuplicatedOps: Record<string, number>;
    mib: number;
  };
  /** Messages that went `failed` at least once, and the drain's retries. */
  failedOnce: number;
  retried: number;
  /** Why messages went `failed` (the outbox's reason, by error code). */
  failReasons: Record<string, number>;
  linkDrops: number;
  engineErrors: Record<string, number>;
  /** Clients not synced when the drain's quiet wait ended (each got its links cut once). */
  behindAfterQuiet: number;
  drained: boolean;
  delivery: DeliveryVerdict | null;
  db: DbVerdict | null;
  serverLogs: string[];
  violations: string[];
}

/** Faults of the soak: every kind strikes often enough to matter, rarely enough that work gets done. */
export const SOAK_FAULTS: FaultPlan = {
  delay: 0.1,
  delayMs: [1, 60],
  stall: 0.004,
  stallMs: [300, 2500],
  drop: 0.1,
  dropAfterMs: [100, 8000],
  reset: 0.12,
  resetAfterBytes: [1, 12_000],
  wsAware: 0.5,
  wsDrop: 0.004,
  wsDup: 0.01,
};

/** What the server may log under these faults: a client that hung up in the middle of a request. */
const TOLERATED_LOG = /^short link failed Error: aborted\b/;
const SECRET = 'soak-secret-0123456789abcdef-0123456789';
const SETUP_DEADLINE_MS = 120_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** How long closing the engines, the proxy or waiting for `send()` calls may take before the run moves on. */
const STEP_DEADLINE_MS = 30_000;

/** `p`, or `fallback` once `ms` pass — without a timer left behind to hold the process open. */
function within<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
const bump = (m: Record<string, number>, k: string, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};

/** POSTs AUTH and `frames` straight to the server (not through the proxy); returns the replies. */
async function post(url: string, user: string, frames: Uint8Array[]): Promise<{ op: number; body: unknown }[]> {
  const token = await mintToken(SECRET, user);
  const parts = [frame(Op.AUTH, 1, { token, device: `${user}-setup` }), ...frames];
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  const res = await fetch(`${url}/link`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/octet-stream' },
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) throw new Error(`setup POST for ${user} answered ${res.status}`);
  return decodeFrames(new Uint8Array(await res.arrayBuffer())).map((f) => ({
    op: f.op,
    body: decodeBody(f.op as BodyOp, f.body),
  }));
}

/** Creates the planned conversations; returns conversation id → member indices. */
async function createConversations(url: string, world: WorldPlan): Promise<Map<number, number[]>> {
  const byCreator = new Map<number, number[]>();
  world.convs.forEach((c, i) => {
    const list = byCreator.get(c.members[0] as number) ?? [];
    list.push(i);
    byCreator.set(c.members[0] as number, list);
  });
  const members = new Map<number, number[]>();
  const jobs = [...byCreator];
  const worker = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const [creator, planned] = job;
      const frames = planned.map((i, n) => {
        const c = world.convs[i]!;
        const others = c.members.slice(1).map((m) => world.users[m]!);
        return c.kind === 'direct'
          ? frame(Op.CONV_CREATE, n + 2, { kind: ConvKind.Direct, members: others })
          : frame(Op.CONV_CREATE, n + 2, { kind: ConvKind.Group, members: others, title: `soak group ${i}` });
      });
      const replies = await post(url, world.users[creator]!, frames);
      planned.forEach((i, n) => {
        const r = replies[n + 1];
        if (r?.op !== Op.CONV) throw new Error(`setup: CONV_CREATE answered ${JSON.stringify(r?.body)}`);
        members.set((r.body as { conv: { id: number } }).conv.id, world.convs[i]!.members);
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return members;
}

/** Reads the rows the database check needs. */
function readDb(path: string): DbRows {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return {
      integrity: String(db.pragma('integrity_check', { simple: true })),
      users: db.prepare('SELECT id, timeline_seq FROM users').all() as DbRows['users'],
      timeline: db.prepare('SELECT user_id, seq, kind, msg_id FROM timeline').all() as DbRows['timeline'],
      messages: db
        .prepare('SELECT id, conv_id, conv_seq, sender, cmid, text FROM messages')
        .all() as DbRows['messages'],
      conversations: db.prepare('SELECT id, last_seq FROM conversations').all() as DbRows['conversations'],
      members: db.prepare('SELECT conv_id, user_id FROM members').all() as DbRows['members'],
    };
  } finally {
    db.close();
  }
}

/** Runs the soak once; never throws for what it finds (see `violations`). */
export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const say = opts.progress ?? (() => {});
  const violations: string[] = [];
  const world = planWorld(opts.seed, opts.clients, opts.httpShare, opts.autoShare);
  const report: SoakReport = {
    seed: opts.seed,
    clients: opts.clients,
    transports: {},
    conversations: {
      direct: world.convs.filter((c) => c.kind === 'direct').length,
      group: world.convs.filter((c) => c.kind === 'group').length,
      largest: Math.max(...world.convs.map((c) => c.members.length)),
    },
    durationMs: 0,
    setupMs: 0,
    sendPhaseMs: 0,
    drainMs: 0,
    kills: 0,
    restartsMs: [],
    faults: { delay: 0, stall: 0, drop: 0, reset: 0, wsDrop: 0, wsDup: 0 },
    proxy: {
      connections: 0,
      websockets: 0,
      wsAware: 0,
      upstreamRefused: 0,
      cut: 0,
      wsDroppedOps: {},
      wsDuplicatedOps: {},
      mib: 0,
    },
    failedOnce: 0,
    retried: 0,
    failReasons: {},
    linkDrops: 0,
    engineErrors: {},
    behindAfterQuiet: 0,
    drained: false,
    delivery: null,
    db: null,
    serverLogs: [],
    violations,
  };
  for (const t of world.transports) bump(report.transports, t);

  const dir = mkdtempSync(join(tmpdir(), 'synkey-soak-'));
  const dbPath = join(dir, 'soak.db');
  const server = new SoakServer(dbPath, SECRET);
  let proxy: FaultProxy | undefined;
  const clients: SoakClient[] = [];
  const sent: SentRecord[] = [];
  let members = new Map<number, number[]>();
  try {
    await server.start();
    say(`server on port ${server.port}, database ${dbPath}`);
    proxy = await FaultProxy.start({ seed: opts.seed, upstreamPort: server.port, plan: opts.plan });
    proxy.setFaults(false);
    members = await createConversations(`http://127.0.0.1:${server.port}`, world);
    const convsOf = world.users.map(() => [] as number[]);
    for (const [conv, list] of members) for (const m of list) convsOf[m]!.push(conv);
    for (const list of convsOf) list.sort((a, b) => a - b);

    // ---- every engine up and holding its conversations, before any fault
    const fleet = { url: proxy.url, secret: SECRET, seed: opts.seed, reconnect: opts.reconnect, send: opts.send };
    for (const [i, transport] of world.transports.entries()) clients.push(new SoakClient(i, transport, fleet));
    const setupDeadline = Date.now() + SETUP_DEADLINE_MS;
    for (;;) {
      const ready = await Promise.all(
        clients.map(async (c) => c.online && (await c.store.conversations()).length === convsOf[c.index]!.length),
      );
      const n = ready.filter(Boolean).length;
      if (n === clients.length) break;
      if (Date.now() > setupDeadline)
        throw new Error(`only ${n} of ${clients.length} clients came up with their conversations`);
      await sleep(200);
    }
    say(`${clients.length} clients up (${JSON.stringify(report.transports)}) in ${members.size} conversations`);

    // ---- the send phase: messages at a steady pace, kills spread over it, faults on
    const rng = new Rng(opts.seed);
    const nextN = new Map<string, number>();
    const sendStart = Date.now();
    report.setupMs = sendStart - started;
    proxy.setFaults(true);
    // Kills draw from their own generator: the message schedule must not depend on when they happen.
    const killRng = new Rng(opts.seed ^ 0x6a09e667);
    const killTimes = Array.from({ length: opts.kills }, (_, i) =>
      Math.round((opts.sendMs * (i + 0.5 + (killRng.next() - 0.5) * 0.6)) / opts.kills),
    );
    let aborted: Error | undefined;
    const killer = (async () => {
      for (const at of killTimes) {
        const wait = sendStart + at - Date.now();
        if (wait > 0) await sleep(wait);
        if (aborted) return;
        await server.kill();
        report.kills++;
        const down = killRng.range(opts.downMs[0], opts.downMs[1]);
        say(`  SIGKILL #${report.kills} at ${((Date.now() - sendStart) / 1000).toFixed(1)} s; down for ${down} ms`);
        const t0 = Date.now();
        await sleep(down);
        try {
          await server.start();
        } catch (e) {
          aborted = e as Error;
          return;
        }
        report.restartsMs.push(Date.now() - t0);
      }
    })();
    let lastProgress = Date.now();
    for (let k = 0; k < opts.messages && !aborted; k++) {
      const due = sendStart + (k * opts.sendMs) / opts.messages;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const c = clients[rng.int(clients.length)]!;
      const convs = convsOf[c.index]!;
      const conv = convs[rng.int(convs.length)]!;
      const lane = `${c.index}/${conv}`;
      const n = (nextN.get(lane) ?? 0) + 1;
      nextN.set(lane, n);
      const key = { sender: c.index, conv, n };
      const record: SentRecord = {
        key,
        text: messageText(key, rng.int(48)),
        cmid: '',
        acked: false,
        failures: 0,
        retries: 0,
      };
      sent.push(record);
      c.send(record);
      if (Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        const acked = sent.filter((s) => s.acked).length;
        const online = clients.filter((x) => x.online).length;
        say(
          `  ${k + 1}/${opts.messages} sent, ${acked} acked, ${online} clients online, faults ${JSON.stringify(proxy.stats.faults)}`,
        );
      }
    }
    await killer;
    if (aborted) throw aborted;
    if ((await within(Promise.all(clients.map((c) => c.settled())), STEP_DEADLINE_MS, 'late')) === 'late')
      violations.push(`send() calls still unresolved ${STEP_DEADLINE_MS} ms after the send phase`);
    report.sendPhaseMs = Date.now() - sendStart;
    say(
      `send phase done in ${(report.sendPhaseMs / 1000).toFixed(1)} s: ${sent.filter((s) => s.acked).length}/${sent.length} acked`,
    );

    // ---- the drain: faults off, everyone reconnects at once (the network is back), failed ones retried
    const drainStart = Date.now();
    const drainDeadline = drainStart + opts.drainMs;
    proxy.setFaults(false);
    for (const c of clients) c.engine.kick();
    const outboxesEmpty = async () =>
      (await Promise.all(clients.map(async (c) => (await c.store.outbox()).length))).every((n) => n === 0);
    while (Date.now() < drainDeadline) {
      for (const c of clients) report.retried += await c.retryFailed();
      if (await outboxesEmpty()) break;
      await sleep(500);
    }
    /** Clients whose store is behind their server timeline. */
    const behind = async (): Promise<SoakClient[]> => {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      let seqs: Map<string, number>;
      try {
        const rows = db.prepare('SELECT id, timeline_seq FROM users').all() as { id: string; timeline_seq: number }[];
        seqs = new Map(rows.map((r) => [r.id, r.timeline_seq]));
      } finally {
        db.close();
      }
      const out: SoakClient[] = [];
      for (const c of clients) if ((await c.store.synKey()).seq !== (seqs.get(c.user) ?? 0)) out.push(c);
      return out;
    };
    const settled = async (until: number): Promise<SoakClient[]> => {
      let late = await behind();
      let told = Date.now();
      // Twice in a row: an ACK's delivered receipts extend the senders' timelines once more.
      for (let calm = 0; Date.now() < until; ) {
        calm = late.length === 0 && (await outboxesEmpty()) ? calm + 1 : 0;
        if (calm >= 2) return [];
        await sleep(300);
        late = await behind();
        if (late.length > 0 && Date.now() - told > 2000) {
          told = Date.now();
          const by = (f: (c: SoakClient) => string) => {
            const m: Record<string, number> = {};
            for (const c of late) bump(m, f(c));
            return counts(m);
          };
          say(
            `  ${late.length} clients behind their timeline: ${by((c) => c.transport)}; ${by((c) => c.engine.state)}`,
          );
        }
      }
      return late;
    };
    let late = await settled(Math.min(drainDeadline, Date.now() + opts.quietMs));
    report.behindAfterQuiet = late.length;
    if (late.length > 0) {
      // A NOTIFY the proxy dropped is only made good by the next one, or by a new link: give every client one.
      say(`  ${late.length} clients behind after the quiet wait; cutting every link once`);
      proxy.cutAll();
      for (const c of clients) c.engine.kick();
      late = await settled(drainDeadline);
    }
    report.drainMs = Date.now() - drainStart;
    report.drained = late.length === 0 && (await outboxesEmpty());
    if (!report.drained) {
      const stuck = await Promise.all(clients.map(async (c) => (await c.store.outbox()).length));
      violations.push(
        `the drain did not finish within ${opts.drainMs} ms: ${late.length} clients behind, ${stuck.reduce((a, b) => a + b, 0)} messages still in outboxes`,
      );
    }
    say(`drain ${report.drained ? 'done' : 'NOT done'} in ${(report.drainMs / 1000).toFixed(1)} s`);
  } catch (e) {
    violations.push(`soak aborted: ${(e as Error).stack ?? e}`);
  }

  // ---- the verdicts
  if ((await within(Promise.all(clients.map((c) => c.engine.close())), STEP_DEADLINE_MS, 'late')) === 'late')
    violations.push(`the engines did not close within ${STEP_DEADLINE_MS} ms`);
  for (const c of clients) {
    report.linkDrops += c.drops;
    for (const [k, n] of Object.entries(c.errors)) bump(report.engineErrors, k, n);
    for (const [k, n] of Object.entries(c.failReasons)) bump(report.failReasons, k, n);
    if (c.resets > 0) violations.push(`${c.user}: its synced state was reset ${c.resets} times (the epoch changed)`);
  }
  report.failedOnce = sent.filter((s) => s.failures > 0).length;
  if (proxy) {
    const s = proxy.stats;
    report.faults = { ...s.faults };
    report.proxy = {
      connections: s.connections,
      websockets: s.websockets,
      wsAware: s.wsAware,
      upstreamRefused: s.upstreamRefused,
      cut: s.cut,
      wsDroppedOps: s.wsDroppedOps,
      wsDuplicatedOps: s.wsDuplicatedOps,
      mib: s.bytes / 2 ** 20,
    };
    if ((await within(proxy.close(), STEP_DEADLINE_MS, 'late')) === 'late')
      violations.push(`the proxy did not close within ${STEP_DEADLINE_MS} ms`);
  }
  if (clients.length > 0 && sent.length > 0) {
    const convsOf = new Map<number, number[]>();
    for (const [conv, list] of members) for (const m of list) convsOf.set(m, [...(convsOf.get(m) ?? []), conv]);
    const views = await Promise.all(clients.map((c) => c.view(convsOf.get(c.index) ?? [])));
    report.delivery = checkDeliveries(sent, members, views);
    violations.push(...report.delivery.violations.map((v) => `delivery: ${v}`));
  }
  await server.close();
  report.serverLogs = [...server.logs];
  for (const c of server.crashes) violations.push(c);
  for (const line of server.logs)
    if (!TOLERATED_LOG.test(line)) violations.push(`server logged: ${line.slice(0, 500)}`);
  try {
    report.db = checkDatabase(readDb(dbPath), sent);
    violations.push(...report.db.violations.map((v) => `database: ${v}`));
  } catch (e) {
    violations.push(`database check failed: ${(e as Error).message}`);
  }
  rmSync(dir, { recursive: true, force: true });
  report.durationMs = Date.now() - started;
  return report;
}

const counts = (m: Record<string, number>) =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '—';

/** The report as printable lines. */
export function formatReport(r: SoakReport): string {
  const d = r.delivery;
  const lines = [
    `soak: seed ${r.seed}, ${(r.durationMs / 1000).toFixed(1)} s (setup ${(r.setupMs / 1000).toFixed(1)} s, send phase ${(r.sendPhaseMs / 1000).toFixed(1)} s, drain ${(r.drainMs / 1000).toFixed(1)} s)`,
    `clients: ${r.clients} (${counts(r.transports)}); conversations: ${r.conversations.direct} direct, ${r.conversations.group} groups (largest ${r.conversations.largest})`,
    `server kills (SIGKILL + restart on the same port and database): ${r.kills}; restart took ${r.restartsMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ') || '—'}`,
    `faults injected: ${FAULT_KINDS.map((k) => `${k} ${r.faults[k]}`).join(', ')}`,
    `proxy: ${r.proxy.connections} connections (${r.proxy.websockets} WebSocket, ${r.proxy.wsAware} of them WebSocket-aware), ${r.proxy.upstreamRefused} refused while the server was down, ${r.proxy.cut} cut by the drain, ${r.proxy.mib.toFixed(1)} MiB forwarded`,
    `  WebSocket messages dropped, by frame: ${counts(r.proxy.wsDroppedOps)}`,
    `  WebSocket messages duplicated, by frame: ${counts(r.proxy.wsDuplicatedOps)}`,
    d
      ? `messages: sent ${d.sent}, acked ${d.acked}, still pending ${d.pending}; deliveries to other members: ${d.delivered} of ${d.expected} (${d.undeliveredPending} pending with their unacked message), own copies ${d.ownCopies}`
      : 'messages: not checked',
    d
      ? `LOST ${d.lost}, DUPLICATED ${d.duplicated}, REORDERED ${d.reordered}, convSeq gaps ${d.gaps} (order not checked for ${d.orderExempt} messages that went failed)`
      : '',
    `failed at least once: ${r.failedOnce} messages; retried by the drain: ${r.retried}${Object.keys(r.failReasons).length ? ` (why: ${counts(r.failReasons)})` : ''}`,
    `link drops seen by engines: ${r.linkDrops}; clients behind after the drain's quiet wait: ${r.behindAfterQuiet}; drained: ${r.drained}`,
    `engine error events: ${counts(r.engineErrors)}`,
    r.db
      ? `database: ${r.db.messages} messages, ${r.db.events} timeline events of ${r.db.users} users, ${r.db.violations.length === 0 ? 'every check passed' : `${r.db.violations.length} problems`}`
      : 'database: not checked',
    `server log lines: ${r.serverLogs.length}${r.serverLogs.length ? ` (first: ${r.serverLogs[0]?.split('\n')[0]?.slice(0, 200)})` : ''}`,
    r.violations.length === 0 ? 'violations: none' : `VIOLATIONS (${r.violations.length}):`,
    ...r.violations.slice(0, 60).map((v) => `  - ${v}`),
  ];
  return lines.filter((l) => l !== '').join('\n');
}
