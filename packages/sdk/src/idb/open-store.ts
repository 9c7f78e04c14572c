import type { MemoryStore } from '../memory-store';
import type { Store } from '../store';
import { openError, type StoreError } from './errors';
import { type IdbStoreOptions, openIdbStore } from './idb-store';

/** What {@link openDurableStore} got: the IndexedDB store, or a MemoryStore and why. */
export type DurableStore =
  | { store: Store; degraded: false }
  | {
      store: MemoryStore;
      /** State lives only as long as this page or worker: a reload loses the outbox. */
      degraded: true;
      /** Why IndexedDB could not be used, as text (it survives postMessage). */
      reason: string;
      /** The same, typed: `code` says which way it failed. */
      error: StoreError;
    };

/**
 * Opens the IndexedDB store `name`; when that fails for any reason (no IndexedDB, SecurityError in
 * a private or sandboxed context, open timeout, blocked by another tab, a database newer than this
 * code) falls back to a {@link MemoryStore}, so the client still works, without durability.
 */
export async function openDurableStore(name: string, options: IdbStoreOptions = {}): Promise<DurableStore> {
  try {
    return { store: await openIdbStore(name, options), degraded: false };
  } catch (error) {
    const typed = openError(error);
    // Loaded only now: where IndexedDB works, the in-memory store is never fetched.
    const { MemoryStore } = await import('../memory-store');
    return { store: new MemoryStore(), degraded: true, reason: `${typed.code}: ${typed.message}`, error: typed };
  }
}
