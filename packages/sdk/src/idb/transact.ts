import { transactionError } from './errors';
import type { StoreName } from './schema';

/** How a transaction ended: committed, or aborted with `tx.error` (null when aborted by `abort()`). */
type Outcome = { committed: true } | { committed: false; error: DOMException | null };

/**
 * Runs `body` in one transaction over `names` and resolves its result once the transaction has
 * committed. When `body` throws, the transaction is aborted, so none of its writes stay. A request
 * that fails aborts the transaction too, also one whose result nobody awaits. Every failure
 * rejects with a {@link StoreError}; a quota error that arrives only as the transaction's abort is
 * reported as QUOTA_EXCEEDED, not as the AbortError of the request that was pending.
 *
 * `body` may await requests of `tx` and nothing else: the transaction commits as soon as no
 * request is pending.
 */
export async function transact<T>(
  db: IDBDatabase,
  names: readonly StoreName[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction) => Promise<T>,
  options?: IDBTransactionOptions,
): Promise<T> {
  let tx: IDBTransaction;
  try {
    tx = db.transaction(names as StoreName[], mode, options);
  } catch (error) {
    throw transactionError(error);
  }
  const ended = outcome(tx);
  let result: T;
  try {
    result = await body(tx);
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // It already aborted (a failed request) or finished.
    }
    const end = await ended;
    const cause = !end.committed && end.error && end.error.name !== 'AbortError' ? end.error : error;
    throw transactionError(cause);
  }
  const end = await ended;
  if (!end.committed) throw transactionError(end.error ?? new DOMException('the transaction aborted', 'AbortError'));
  return result;
}

function outcome(tx: IDBTransaction): Promise<Outcome> {
  return new Promise((resolve) => {
    tx.addEventListener('complete', () => resolve({ committed: true }));
    tx.addEventListener('abort', () => resolve({ committed: false, error: tx.error }));
  });
}
