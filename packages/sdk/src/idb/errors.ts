/** Codes of a {@link StoreError}: what went wrong with the durable store, so the engine can react. */
export const StoreErrorCode = {
  /** IndexedDB is missing or refused here (private mode, sandboxed frame, disabled by the user). */
  Unavailable: 'STORE_UNAVAILABLE',
  /** `open()` neither succeeded nor failed in time (a Safari bug). */
  OpenTimeout: 'OPEN_TIMEOUT',
  /** Another tab holds the database at an older version and did not let go in time. */
  Blocked: 'BLOCKED',
  /** The database on disk has a newer schema than this code: an updated tab upgraded it. Reload. */
  VersionTooNew: 'VERSION_TOO_NEW',
  /** Another tab upgraded or deleted the database, so this store closed itself. Reload. */
  VersionChange: 'VERSION_CHANGE',
  /** The store was closed by `close()`. */
  Closed: 'STORE_CLOSED',
  /** The browser dropped the connection ("connection lost") and reopening it failed. */
  ConnectionLost: 'CONNECTION_LOST',
  /** The origin is out of storage; the transaction wrote nothing. */
  Quota: 'QUOTA_EXCEEDED',
  /** Any other failure; `cause` holds the original error. The transaction wrote nothing. */
  Failed: 'STORE_FAILED',
} as const;

/** One of the {@link StoreErrorCode} values. */
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/** The one error type the IndexedDB store rejects with; `cause` holds the browser's error, if any. */
export class StoreError extends Error {
  override name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** True for a {@link StoreError}, and when `code` is given, one with that code. */
export function isStoreError(error: unknown, code?: StoreErrorCode): error is StoreError {
  return error instanceof StoreError && (code === undefined || error.code === code);
}

/** The `name` and `message` of an Error or DOMException (duck-typed: it may come from another realm). */
function describeError(error: unknown): { name?: string; message?: string } {
  return typeof error === 'object' && error !== null ? (error as { name?: string; message?: string }) : {};
}

function errorName(error: unknown): string | undefined {
  return describeError(error).name;
}

/**
 * True for an error that means the connection to the database is gone, not the data at fault:
 * InvalidStateError ("the database connection is closing") or Safari's UnknownError "Connection to
 * Indexed Database server lost".
 */
function isConnectionLost(error: unknown): boolean {
  const { name, message } = describeError(error);
  return name === 'InvalidStateError' || name === 'UnknownError' || /connection.*lost/i.test(message ?? '');
}

/** Maps an error of a failed transaction to a {@link StoreError}. */
export function transactionError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  if (errorName(error) === 'QuotaExceededError') {
    return new StoreError(StoreErrorCode.Quota, 'the browser has no storage left for this site', error);
  }
  if (isConnectionLost(error)) {
    return new StoreError(StoreErrorCode.ConnectionLost, 'the connection to IndexedDB was lost', error);
  }
  const { name, message } = describeError(error);
  const detail = name === undefined ? String(error) : `${name}: ${message ?? ''}`;
  return new StoreError(StoreErrorCode.Failed, `the IndexedDB transaction failed (${detail})`, error);
}

/** Maps an error of `indexedDB.open()` (thrown or fired at the request) to a {@link StoreError}. */
export function openError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  switch (errorName(error)) {
    case 'VersionError':
      return new StoreError(StoreErrorCode.VersionTooNew, 'the database on disk is newer than this code', error);
    case 'QuotaExceededError':
      return new StoreError(StoreErrorCode.Quota, 'no storage left to open the database', error);
    // Private modes refuse with SecurityError (Safari, old Firefox) or InvalidStateError (Firefox).
    case 'SecurityError':
    case 'InvalidStateError':
    case 'UnknownError':
      return new StoreError(StoreErrorCode.Unavailable, 'IndexedDB refused to open the database', error);
    default:
      return new StoreError(StoreErrorCode.Failed, 'IndexedDB failed to open the database', error);
  }
}
