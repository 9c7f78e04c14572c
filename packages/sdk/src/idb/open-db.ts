import { openError, StoreError, StoreErrorCode } from './errors';
import { MIGRATIONS, type Migration, schemaVersion, upgrade } from './schema';

/** The part of `IDBFactory` the store uses. */
export type IdbFactory = Pick<IDBFactory, 'open'>;

/** How {@link openDatabase} opens. */
export interface OpenDatabaseOptions {
  /** Rejects when `open()` has not settled after this long (it can hang in Safari). */
  timeoutMs: number;
  /** The schema history to upgrade with; default: {@link MIGRATIONS}. */
  migrations?: readonly Migration[];
}

/**
 * Opens `name` at the version `migrations` end at, upgrading it on the way. Rejects with a
 * {@link StoreError}: OPEN_TIMEOUT when `open()` does not settle in time, BLOCKED when another
 * connection held an older version all that time, VERSION_TOO_NEW when the database on disk is
 * newer, STORE_UNAVAILABLE when the browser refuses (private mode). A connection that opens after
 * the timeout is closed at once.
 */
export function openDatabase(factory: IdbFactory, name: string, options: OpenDatabaseOptions): Promise<IDBDatabase> {
  const migrations = options.migrations ?? MIGRATIONS;
  const version = schemaVersion(migrations);
  return new Promise((resolve, reject) => {
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name, version);
    } catch (error) {
      reject(openError(error));
      return;
    }
    let settled = false;
    let blocked = false;
    let upgradeFailure: unknown;
    const timer = setTimeout(() => {
      settled = true;
      reject(
        blocked
          ? new StoreError(StoreErrorCode.Blocked, `another tab keeps "${name}" open at an older version`)
          : new StoreError(StoreErrorCode.OpenTimeout, `opening "${name}" took longer than ${options.timeoutMs} ms`),
      );
    }, options.timeoutMs);

    request.addEventListener('blocked', () => {
      blocked = true;
    });
    request.addEventListener('upgradeneeded', (event) => {
      const tx = request.transaction as IDBTransaction;
      upgrade(request.result, event.oldVersion, event.newVersion ?? version, tx, migrations).catch((error: unknown) => {
        upgradeFailure = error;
        try {
          tx.abort();
        } catch {
          // It already aborted because of the failed request.
        }
      });
    });
    request.addEventListener('success', () => {
      const db = request.result;
      if (settled) {
        db.close();
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve(db);
    });
    request.addEventListener('error', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(
        upgradeFailure === undefined
          ? openError(request.error)
          : new StoreError(StoreErrorCode.Failed, `upgrading "${name}" to version ${version} failed`, upgradeFailure),
      );
    });
  });
}
