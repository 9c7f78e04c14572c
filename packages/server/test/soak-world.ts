// The soak's world, drawn from its seed: users, the link each one uses, who talks to whom, and the
// text of every message (which names its sender, conversation and place in the sender's order, so a
// recipient, who never sees the cmid, can tell which message it got). Pure.
import type { TransportMode } from '@synkey/sdk';
import { Rng } from './fuzz-corpus';

/** A conversation to create before the run: 1:1 (`direct`) or a group. */
export interface ConvPlan {
  kind: 'direct' | 'group';
  /** Client indices; `members[0]` creates it. */
  members: number[];
}

/** Who is in the soak. */
export interface WorldPlan {
  users: string[];
  transports: TransportMode[];
  convs: ConvPlan[];
}

/** Users of the soak are named after their index. */
export const userName = (index: number): string => `sk${index}`;

/** The index of a soak user, or -1. */
export function userIndex(user: string): number {
  const m = /^sk(\d+)$/.exec(user);
  return m ? Number(m[1]) : -1;
}

/**
 * Draws the world: every user has a 1:1 conversation with the next one (a ring), is in one small
 * group of 3–8, and some also in one larger group of up to 24; `httpShare` of the users use the
 * short link only and `autoShare` the automatic choice, the rest the WebSocket.
 */
export function planWorld(seed: number, clients: number, httpShare: number, autoShare: number): WorldPlan {
  if (clients < 2) throw new RangeError('the soak needs at least 2 clients');
  const rng = new Rng(seed ^ 0x3c6ef372);
  const users = Array.from({ length: clients }, (_, i) => userName(i));
  const transports = users.map((): TransportMode => {
    const r = rng.next();
    return r < httpShare ? 'http' : r < httpShare + autoShare ? 'auto' : 'ws';
  });
  const convs: ConvPlan[] = [];
  const pairs = clients === 2 ? 1 : clients;
  for (let i = 0; i < pairs; i++) convs.push({ kind: 'direct', members: [i, (i + 1) % clients] });
  const order = shuffle(
    rng,
    users.map((_, i) => i),
  );
  const groups: number[][] = [];
  for (let at = 0; at < order.length; ) {
    const size = rng.range(3, 8);
    groups.push(order.slice(at, at + size));
    at += size;
  }
  const last = groups.at(-1) as number[];
  if (groups.length > 1 && last.length < 3) (groups.at(-2) as number[]).push(...(groups.pop() as number[]));
  for (const members of groups) convs.push({ kind: 'group', members });
  if (clients >= 6)
    convs.push({
      kind: 'group',
      members: shuffle(
        rng,
        users.map((_, i) => i),
      ).slice(0, 24),
    });
  return { users, transports, convs };
}

function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

/** The identity of a soak message: sender index, conversation id, place in the sender's order there (1, 2, 3…). */
export interface MessageKey {
  sender: number;
  conv: number;
  n: number;
}

/** `sender.conv.n`: a message's identity as a map key. */
export const keyOf = (k: MessageKey): string => `${k.sender}.${k.conv}.${k.n}`;

/** The text of a soak message, padded to vary its length. */
export function messageText(k: MessageKey, pad: number): string {
  return `soak ${keyOf(k)} ${'~'.repeat(pad)}`.trimEnd();
}

/** The identity in a soak message's text, or undefined for any other text. */
export function parseText(text: string | undefined): MessageKey | undefined {
  const m = /^soak (\d+)\.(\d+)\.(\d+)(?: ~*)?$/.exec(text ?? '');
  return m ? { sender: Number(m[1]), conv: Number(m[2]), n: Number(m[3]) } : undefined;
}
