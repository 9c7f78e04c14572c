import type { BodyOf, Conversation, Message, Op } from '@synkey/protocol';

/** Users whose timelines grew and should be notified. */
export type Grew = readonly string[];

/**
 * The chat service over durable storage. Every method is synchronous (better-sqlite3) and atomic:
 * it either applies completely in one transaction or throws a `ProtocolError` (FORBIDDEN, NOT_FOUND,
 * INVALID) and changes nothing.
 */
export interface ChatStore {
  /** The store's epoch: a random u32 ≥ 1 made with the database. */
  readonly epoch: number;
  /** Creates the user if unknown (and updates the display name if given); records the device. */
  ensureUser(user: string, device?: string, name?: string): void;
  /** The user's newest timeline seq (0 if none). */
  maxSeq(user: string): number;
  /** Stores a message or returns the original ack for a repeated cmid (`duplicate: true`, nothing grew). */
  send(user: string, req: BodyOf<typeof Op.SEND>): { ack: BodyOf<typeof Op.SEND_ACK>; grew: Grew; duplicate: boolean };
  /** Reads the timeline after (epoch, seq). Never changes state. */
  sync(user: string, req: BodyOf<typeof Op.SYNC>): BodyOf<typeof Op.SYNC_REPLY>;
  /** Moves the device's ack cursor and emits delivered receipts. */
  ack(user: string, device: string, req: BodyOf<typeof Op.ACK>): { grew: Grew };
  /** Records a read position and emits read receipts. */
  read(user: string, req: BodyOf<typeof Op.READ>): { grew: Grew };
  createConversation(user: string, req: BodyOf<typeof Op.CONV_CREATE>): { conv: Conversation; grew: Grew };
  listConversations(user: string): Conversation[];
  history(user: string, req: BodyOf<typeof Op.HISTORY>): { msgs: Message[]; more: boolean };
  /** A value kept in the meta table (e.g. the dev-mode token secret). */
  meta(key: string, init: () => string): string;
  close(): void;
}
