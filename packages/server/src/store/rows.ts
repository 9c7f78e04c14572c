import type { Message } from '@synkey/protocol';

/** What a timeline row refers to; the values equal the field numbers of the wire event. */
export const EventKind = { Message: 1, Receipt: 2, Conversation: 3 } as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** A row of the `messages` table. */
export interface MessageRow {
  id: number;
  conv_id: number;
  conv_seq: number;
  sender: string;
  cmid: string;
  kind: number;
  text: string | null;
  ts: number;
}

/** The message as `viewer` sees it: the cmid is shown only to its sender. */
export function toMessage(row: MessageRow, viewer: string): Message {
  const msg: Message = {
    id: row.id,
    conv: row.conv_id,
    sender: row.sender,
    convSeq: row.conv_seq,
    ts: row.ts,
    kind: row.kind,
  };
  if (row.sender === viewer) msg.cmid = row.cmid;
  if (row.text !== null) msg.text = row.text;
  return msg;
}
