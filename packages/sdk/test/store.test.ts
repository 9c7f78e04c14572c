import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openIdbStore } from '../src/idb/idb-store';
import { MemoryStore } from '../src/memory-store';
import { storeContract } from './store-contract';

storeContract('MemoryStore', async () => new MemoryStore());
// A fresh IDBFactory per store: every test gets an empty IndexedDB of its own.
storeContract('IdbStore', () => openIdbStore('synkey:test:alice', { indexedDB: new IDBFactory(), timeoutMs: 1000 }));
