import type { Conversation, Message } from '@synkey/protocol';
import type { StoreTx, TxWrites } from '../store';
import { settled } from './request';
import type { StoreName } from './schema';

/** The object stores {@link applyEvents} reads and writes through an {@link IdbTx}. */
export const EVENT_STORES: StoreName[] = ['conversations', 'messages', 'outbox', 'files'];

/**
 * {@link StoreTx} over one IndexedDB readwrite transaction over at least {@link EVENT_STORES}.
 * Every read issues all of its requests at once (they are served in order, without a round trip
 * each); `write` issues every put and delete and leaves their outcome to the transaction: one that
 * fails aborts it.
 */
export class IdbTx implements StoreTx {
  constructor(private readonly tx: IDBTransaction) {}

  conversations(ids: readonly number[]): Promise<(Conversation | undefined)[]> {
    const store = this.tx.objectStore('conversations');
    return Promise.all(ids.map((id) => settled<Conversation | undefined>(store.get(id))));
  }

  async messages(ids: readonly number[]): Promise<(Message | undefined)[]> {
    const store = this.tx.objectStore('messages');
    if (ids.length > 1) {
      // The messages of a page have near ids, and the store holds only this user's: one range read
      // usually finds every stored one. Capped, in case the range spans many others.
      const cap = 2 * ids.length + 64;
      const range = IDBKeyRange.bound(Math.min(...ids), Math.max(...ids));
      const found = await settled<Message[]>(store.getAll(range, cap));
      if (found.length < cap) {
        const byId = new Map(found.map((m) => [m.id, m]));
        return ids.map((id) => byId.get(id));
      }
    }
    return Promise.all(ids.map((id) => settled<Message | undefined>(store.get(id))));
  }

  async outboxHas(cmids: readonly string[]): Promise<Set<string>> {
    const store = this.tx.objectStore('outbox');
    const keys = await Promise.all(cmids.map((cmid) => settled(store.getKey(cmid))));
    return new Set(cmids.filter((_, i) => keys[i] !== undefined));
  }

  async write({ convs, msgs, sent }: TxWrites): Promise<void> {
    const conversations = this.tx.objectStore('conversations');
    const messages = this.tx.objectStore('messages');
    for (const conv of convs) conversations.put(conv);
    for (const msg of msgs) messages.put(msg);
    if (sent.length === 0) return;
    const outbox = this.tx.objectStore('outbox');
    const files = this.tx.objectStore('files');
    for (const cmid of sent) {
      outbox.delete(cmid);
      files.delete(cmid);
    }
  }
}
