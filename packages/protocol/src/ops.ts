/**
 * Operation codes carried in the header's `op` field.
 * Requests are sent by the client; replies echo the request's `seq`; pushes have `seq` 0.
 */
export const Op = {
  /** C→S, first frame on every link: the token. Reply: AUTH_OK or ERROR. */
  AUTH: 1,
  AUTH_OK: 2,
  /** Either side; reply PONG with the same seq. */
  PING: 3,
  PONG: 4,
  /** Body is whole frames back to back. One level only. */
  BATCH: 5,
  /** Reply to a failed request (seq echoed) or a link-level error (seq 0). */
  ERROR: 6,
  /** Empty success reply (ACK, READ). */
  OK: 7,
  /** S→C push on the long link: the timeline reached `seq`. Also the reply to POLL. */
  NOTIFY: 8,
  SEND: 10,
  SEND_ACK: 11,
  SYNC: 12,
  SYNC_REPLY: 13,
  ACK: 14,
  /** Short-link long-poll standing in for NOTIFY: held until the timeline passes `seq` or `waitMs` runs out. */
  POLL: 15,
  READ: 16,
  CONV_CREATE: 20,
  CONV: 21,
  CONV_LIST: 22,
  CONV_LIST_REPLY: 23,
  HISTORY: 24,
  HISTORY_REPLY: 25,
  /** C→S: one part of a voice note; each part is acknowledged by PART_ACK (idempotent on upload+index). */
  VOICE_PART: 30,
  PART_ACK: 31,
} as const;

export type Op = (typeof Op)[keyof typeof Op];

const names = new Map<number, string>(Object.entries(Op).map(([k, v]) => [v, k]));

/** The op's name for logs and errors, or `op#N` when unknown. */
export function opName(op: number): string {
  return names.get(op) ?? `op#${op}`;
}
