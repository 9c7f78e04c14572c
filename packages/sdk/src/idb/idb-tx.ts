import type { Conversation, Message } from '@synkey/protocol';
import type { IDBPTransaction, StoreNames } from 'idb';
import type { OutboxEntry, StoreTx } from '../store';
import type { SynkeyDB } from './schema';

/** A readwrite transaction over at least the stores {@link IdbTx} touches. */
export type EventTx = IDBPTransaction<SynkeyDB, StoreNames<SynkeyDB>[], 'readwrite'>;

/** The object stores {@link applyEvents} reads and writes through an {@link IdbTx}. */
export const EVENT_STORES = ['conversations', 'messages', 'outbox', 'files'] as const satisfies StoreNames<SynkeyDB>[];

/**
 * {@link StoreTx} over one IndexedDB readwrite transaction: every method is a request of that
 * transaction, so a caller that awaits nothing else keeps it alive until it is done.
 */
export class IdbTx implements StoreTx {
  constructor(private readonly tx: EventTx) {}

  conversation(id: number): Promise<Conversation | undefined> {
    return this.tx.objectStore('conversations').get(id);
  }

  async putConversation(conv: Conversation): Promise<void> {
    await this.tx.objectStore('conversations').put(conv);
  }

  message(id: number): Promise<Message | undefined> {
    return this.tx.objectStore('messages').get(id);
  }

  async putMessage(msg: Message): Promise<void> {
    await this.tx.objectStore('messages').put(msg);
  }

  async messagesBetween(conv: number, after: number, upTo: number): Promise<Message[]> {
    if (!(upTo > after)) return [];
    const range = IDBKeyRange.bound([conv, after], [conv, upTo], true, false);
    return this.tx.objectStore('messages').index('by-conv-seq').getAll(range);
  }

  outboxEntry(cmid: string): Promise<OutboxEntry | undefined> {
    return this.tx.objectStore('outbox').get(cmid);
  }

  async deleteOutbox(cmid: string): Promise<void> {
    await Promise.all([this.tx.objectStore('outbox').delete(cmid), this.tx.objectStore('files').delete(cmid)]);
  }
}
