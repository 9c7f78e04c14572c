/**
 * The durable {@link Store} over IndexedDB (plain requests, no wrapper library), for a page or a Worker.
 *
 * @packageDocumentation
 */

export { isStoreError, StoreError, StoreErrorCode } from './errors';
export { IdbStore, type IdbStoreOptions, openIdbStore } from './idb-store';
export type { IdbFactory } from './open-db';
export { type DurableStore, openDurableStore } from './open-store';
export { databaseName, MIGRATIONS, type Migration, type SynkeyDB, schemaVersion } from './schema';
