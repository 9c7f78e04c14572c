/**
 * Resolves with a request's result once it succeeds; rejects with its error. Inside a transaction,
 * code that runs on the resolution may issue further requests: the transaction is still active.
 */
export function settled<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Walks a cursor request, handing each record to `visit` until it returns false or the records
 * end; resolves then. A cursor reuses its request, so this walks with one request.
 */
export function walk(
  request: IDBRequest<IDBCursorWithValue | null>,
  visit: (cursor: IDBCursorWithValue) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => {
      const cursor = request.result;
      if (cursor && visit(cursor)) cursor.continue();
      else resolve();
    };
    request.onerror = () => reject(request.error);
  });
}
