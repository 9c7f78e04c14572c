// The soak's verdicts, pure: what every client ended up with against what was sent and acked, and
// the server's database against the same. A violation is a sentence naming the message and client.
import { keyOf, type MessageKey, parseText, userIndex, userName } from './soak-world';

/** One message the soak sent, as the sender saw it. */
export interface SentRecord {
  key: MessageKey;
  text: string;
  /** The cmid `send()` resolved; '' if it never did. */
  cmid: string;
  /** The sender saw it stored on the server (SEND_ACK, or its own message event). */
  acked: boolean;
  /** Times it went `failed`, and times the drain retried it. */
  failures: number;
  retries: number;
}

/** A message in a client's store. */
export interface StoredMessage {
  id: number;
  convSeq: number;
  sender: string;
  text?: string;
}

/** What one client holds at the end, and what it noticed while the run went on. */
export interface ClientView {
  index: number;
  /** Stored messages per conversation, ascending by convSeq. */
  messages: ReadonlyMap<number, readonly StoredMessage[]>;
  outbox: readonly { cmid: string; conv: number; state: string }[];
  /** Message keys that arrived under a second server id. */
  liveDuplicates: readonly string[];
  /** Message keys that arrived after a later message of the same sender in the same conversation. */
  liveReorders: readonly string[];
}

/** The delivery counts; lost, duplicated and reordered must be 0. */
export interface DeliveryVerdict {
  sent: number;
  acked: number;
  /** Never acked and still in the sender's outbox (`sending` or `failed`). */
  pending: number;
  /** Copies other members should hold, and hold exactly once. */
  expected: number;
  delivered: number;
  /** Deliveries of messages never acked that are missing but still in the sender's outbox (allowed). */
  undeliveredPending: number;
  /** The sender's own store holds its message exactly once. */
  ownCopies: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /** Holes in a client's convSeq sequence of a conversation. */
  gaps: number;
  /** Messages that went `failed`: their place is not checked (see {@link checkDeliveries}). */
  orderExempt: number;
  violations: string[];
}

const MAX_VIOLATIONS = 40;

/**
 * Checks every member of every conversation against the messages sent to it: each message acked to
 * its sender is held exactly once by every member (the sender's own device included), each one never
 * acked is held exactly once or is still in the sender's outbox, and each sender's messages are held
 * in the order sent. A message that went `failed` is exempt from the order check: resent by the user,
 * it goes behind whatever the sender queued meanwhile (or keeps its place, if the server had stored
 * it after all), as the outbox documents.
 */
export function checkDeliveries(
  sent: readonly SentRecord[],
  members: ReadonlyMap<number, readonly number[]>,
  clients: readonly ClientView[],
): DeliveryVerdict {
  const v: DeliveryVerdict = {
    sent: sent.length,
    acked: 0,
    pending: 0,
    expected: 0,
    delivered: 0,
    undeliveredPending: 0,
    ownCopies: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    gaps: 0,
    orderExempt: 0,
    violations: [],
  };
  const exempt = new Set(sent.filter((m) => m.failures > 0).map((m) => keyOf(m.key)));
  v.orderExempt = exempt.size;
  let more = 0;
  const say = (s: string) => {
    if (v.violations.length < MAX_VIOLATIONS) v.violations.push(s);
    else more++;
  };
  const byIndex = new Map(clients.map((c) => [c.index, c]));
  /** Per client: copies of each message key in its store. */
  const copies = new Map<number, Map<string, number>>();
  const reorderedAt = new Set<string>();
  const duplicatedAt = new Set<string>();
  for (const c of clients) {
    const counts = new Map<string, number>();
    copies.set(c.index, counts);
    for (const [conv, list] of c.messages) {
      const highest = new Map<number, number>();
      let expectSeq = 1;
      for (const m of list) {
        if (m.convSeq > expectSeq) {
          v.gaps += m.convSeq - expectSeq;
          say(`${userName(c.index)}: conversation ${conv} lacks convSeq ${expectSeq}–${m.convSeq - 1}`);
        }
        expectSeq = m.convSeq + 1;
        const key = parseText(m.text);
        if (!key || key.conv !== conv || userIndex(m.sender) !== key.sender) {
          say(`${userName(c.index)}: conversation ${conv} holds a message nobody sent: ${m.sender} "${m.text}"`);
          continue;
        }
        const k = keyOf(key);
        counts.set(k, (counts.get(k) ?? 0) + 1);
        if (exempt.has(k)) continue;
        const top = highest.get(key.sender) ?? 0;
        if (key.n < top) {
          v.reordered++;
          reorderedAt.add(`${c.index}|${k}`);
          say(`${userName(c.index)}: ${k} is stored after ${key.sender}.${conv}.${top} (convSeq ${m.convSeq})`);
        } else highest.set(key.sender, key.n);
      }
    }
    for (const k of c.liveDuplicates) duplicatedAt.add(`${c.index}|${k}`);
    for (const k of c.liveReorders) {
      if (exempt.has(k) || reorderedAt.has(`${c.index}|${k}`)) continue;
      reorderedAt.add(`${c.index}|${k}`);
      v.reordered++;
      say(`${userName(c.index)}: ${k} arrived after a later message of its sender`);
    }
  }
  const outboxes = new Map(clients.map((c) => [c.index, new Map(c.outbox.map((e) => [e.cmid, e.state]))]));
  for (const m of sent) {
    const k = keyOf(m.key);
    const sender = userName(m.key.sender);
    if (m.acked) v.acked++;
    const queued = m.cmid !== '' && outboxes.get(m.key.sender)?.has(m.cmid) === true;
    if (!m.acked && queued) v.pending++;
    if (m.acked && queued) say(`${sender}: ${k} was acked but is still in the outbox`);
    if (m.cmid === '') say(`${sender}: send() of ${k} never resolved`);
    for (const r of members.get(m.key.conv) ?? []) {
      const n = copies.get(r)?.get(k) ?? 0;
      const own = r === m.key.sender;
      if (!byIndex.has(r)) continue;
      if (!own) v.expected++;
      if (n > 1 || (n === 1 && duplicatedAt.has(`${r}|${k}`))) {
        v.duplicated += Math.max(1, n - 1);
        say(`${userName(r)}: holds ${k} ${n} times${n === 1 ? ' (it arrived under two ids)' : ''}`);
      } else if (n === 1) {
        if (own) v.ownCopies++;
        else v.delivered++;
      } else if (m.acked) {
        v.lost++;
        say(`${userName(r)}: lacks ${k}, acked to ${sender}${own ? ' (its own device)' : ''}`);
      } else if (queued) {
        if (!own) v.undeliveredPending++;
      } else {
        v.lost++;
        say(`${userName(r)}: lacks ${k}, which ${sender} neither saw acked nor still has in its outbox`);
      }
    }
  }
  if (more > 0) v.violations.push(`… and ${more} more`);
  return v;
}

/** Rows of the server's database. */
export interface DbRows {
  users: { id: string; timeline_seq: number }[];
  timeline: { user_id: string; seq: number; kind: number; msg_id: number | null }[];
  messages: { id: number; conv_id: number; conv_seq: number; sender: string; cmid: string; text: string | null }[];
  conversations: { id: number; last_seq: number }[];
  members: { conv_id: number; user_id: string }[];
  integrity: string;
}

/** What the database check found. */
export interface DbVerdict {
  users: number;
  events: number;
  messages: number;
  violations: string[];
}

/**
 * Checks the server's database: every user's timeline is 1…timeline_seq without a gap; no sender has
 * a cmid (or a text) twice; every conversation's convSeqs are 1…last_seq; each sender's messages are
 * in the order sent (but for those that went `failed`, as in {@link checkDeliveries}); every acked message is stored with its text, and every stored one was sent; every
 * member's timeline holds every message of the conversation exactly once.
 */
export function checkDatabase(rows: DbRows, sent: readonly SentRecord[]): DbVerdict {
  const violations: string[] = [];
  let more = 0;
  const say = (s: string) => {
    if (violations.length < MAX_VIOLATIONS) violations.push(s);
    else more++;
  };
  const exempt = new Set(sent.filter((m) => m.failures > 0).map((m) => keyOf(m.key)));
  if (rows.integrity !== 'ok') say(`integrity_check: ${rows.integrity}`);

  const seqs = new Map<string, number[]>();
  for (const e of rows.timeline) {
    const list = seqs.get(e.user_id) ?? [];
    list.push(e.seq);
    seqs.set(e.user_id, list);
  }
  for (const u of rows.users) {
    const list = (seqs.get(u.id) ?? []).sort((a, b) => a - b);
    const gapless = list.length === u.timeline_seq && list.every((s, i) => s === i + 1);
    if (!gapless) say(`timeline of ${u.id}: ${list.length} events for timeline_seq ${u.timeline_seq}, not 1…N`);
  }

  const bySenderCmid = new Map<string, (typeof rows.messages)[number]>();
  const bySenderText = new Set<string>();
  const byConv = new Map<number, (typeof rows.messages)[number][]>();
  for (const m of rows.messages) {
    const sc = `${m.sender}\u0000${m.cmid}`;
    if (bySenderCmid.has(sc)) say(`messages: ${m.sender} has cmid ${m.cmid} twice`);
    bySenderCmid.set(sc, m);
    const st = `${m.sender}\u0000${m.text}`;
    if (bySenderText.has(st)) say(`messages: ${m.sender} has "${m.text}" twice (under another cmid)`);
    bySenderText.add(st);
    const list = byConv.get(m.conv_id) ?? [];
    list.push(m);
    byConv.set(m.conv_id, list);
  }
  for (const c of rows.conversations) {
    const list = (byConv.get(c.id) ?? []).sort((a, b) => a.conv_seq - b.conv_seq);
    if (list.length !== c.last_seq || !list.every((m, i) => m.conv_seq === i + 1))
      say(`conversation ${c.id}: ${list.length} messages for last_seq ${c.last_seq}, not convSeq 1…N`);
    const highest = new Map<string, number>();
    for (const m of list) {
      const key = parseText(m.text ?? undefined);
      if (!key || exempt.has(keyOf(key))) continue;
      if (key.n < (highest.get(m.sender) ?? 0)) say(`conversation ${c.id}: ${keyOf(key)} stored after a later one`);
      else highest.set(m.sender, key.n);
    }
  }
  const ledger = new Map(sent.map((s) => [`${userName(s.key.sender)}\u0000${s.cmid}`, s]));
  for (const s of sent) {
    if (!s.acked) continue;
    const m = bySenderCmid.get(`${userName(s.key.sender)}\u0000${s.cmid}`);
    if (!m) say(`messages: ${keyOf(s.key)} was acked but is not stored`);
    else if (m.text !== s.text || m.conv_id !== s.key.conv) say(`messages: ${keyOf(s.key)} is stored differently`);
  }
  for (const m of rows.messages) {
    if (!ledger.has(`${m.sender}\u0000${m.cmid}`)) say(`messages: ${m.sender}'s ${m.cmid} "${m.text}" was never sent`);
  }

  const membersOf = new Map<number, Set<string>>();
  for (const r of rows.members) {
    const set = membersOf.get(r.conv_id) ?? new Set<string>();
    set.add(r.user_id);
    membersOf.set(r.conv_id, set);
  }
  const holders = new Map<number, string[]>();
  for (const e of rows.timeline) {
    if (e.kind !== 1 || e.msg_id === null) continue;
    const list = holders.get(e.msg_id) ?? [];
    list.push(e.user_id);
    holders.set(e.msg_id, list);
  }
  for (const m of rows.messages) {
    const got = (holders.get(m.id) ?? []).sort();
    const want = [...(membersOf.get(m.conv_id) ?? [])].sort();
    if (got.join() !== want.join())
      say(`timeline: message ${m.id} is on ${got.length} timelines (${got.join(' ')}), members are ${want.join(' ')}`);
  }
  if (more > 0) violations.push(`… and ${more} more`);
  return { users: rows.users.length, events: rows.timeline.length, messages: rows.messages.length, violations };
}
