// Code that runs inside the demo page (passed to Playwright's addInitScript / evaluate, so every
// function here is self-contained: no imports, no closures over module scope).

/** What the probe records in the page, as `window.__bench`. */
export interface PageRecord {
  /** performance.now() of each connection state change. */
  states: [string, number][];
  /** Distinct ids of messages from `sender` applied so far. */
  count: number;
  firstAt: number;
  lastAt: number;
  /** Wall-clock time (Date.now()) each message whose text starts with `mark` was applied. */
  marked: Record<string, number>;
  /** performance.now() of each event that brought new messages, and how many. */
  batches: [number, number][];
}

/**
 * Installed before the page's scripts run: traps the page's `window.synkey = client` assignment and
 * subscribes to the client's events at once, so that nothing the engine applies is missed. A
 * `messages` event is emitted after the engine's IndexedDB transaction committed.
 */
export function installProbe({ sender, mark }: { sender: string; mark: string }): void {
  type Msg = { id?: number; sender: string; text?: string };
  type Event = { type: string; state?: string; messages?: Msg[] };
  const rec = {
    states: [] as [string, number][],
    count: 0,
    firstAt: 0,
    lastAt: 0,
    marked: {} as Record<string, number>,
    batches: [] as [number, number][],
  };
  const seen = new Set<number>();
  let client: { subscribe(fn: (e: Event) => void): () => void } | undefined;
  Object.defineProperty(window, '__bench', { value: rec });
  Object.defineProperty(window, 'synkey', {
    configurable: true,
    get: () => client,
    set: (c: NonNullable<typeof client>) => {
      client = c;
      c.subscribe((e) => {
        const now = performance.now();
        if (e.type === 'connection' && e.state) rec.states.push([e.state, now]);
        if (e.type !== 'messages' || !e.messages) return;
        const before = rec.count;
        for (const m of e.messages) {
          if (m.sender !== sender || m.id === undefined || seen.has(m.id)) continue;
          seen.add(m.id);
          rec.count++;
          if (rec.firstAt === 0) rec.firstAt = now;
          rec.lastAt = now;
          if (m.text?.startsWith(mark)) rec.marked[m.text] = Date.now();
        }
        if (rec.count > before) rec.batches.push([now, rec.count - before]);
      });
    },
  });
}

/**
 * The naive baseline: fetches `total` messages as JSON pages from `base` and writes each page with
 * a plain IndexedDB put loop in one transaction. Resolves with the milliseconds it took (after the
 * database is open) and the number of messages stored.
 */
export async function naiveCatchup({ base, total }: { base: string; total: number }) {
  const name = `naive-${Math.random()}`;
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('messages', { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const t0 = performance.now();
  let after = 0;
  let stored = 0;
  for (;;) {
    const res = await fetch(`${base}/messages?after=${after}&limit=200`);
    const page = (await res.json()) as { messages: { id: string; seq: number }[]; more: boolean };
    const tx = db.transaction('messages', 'readwrite');
    const store = tx.objectStore('messages');
    for (const m of page.messages) store.put(m);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    stored += page.messages.length;
    after = page.messages.at(-1)?.seq ?? after;
    if (!page.more || stored >= total) break;
  }
  const ms = performance.now() - t0;
  db.close();
  indexedDB.deleteDatabase(name);
  return { ms, stored };
}
