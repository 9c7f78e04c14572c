import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the background thread copies the WAL into the database file. */
const CHECKPOINT_EVERY_MS = 1000;

// Plain JavaScript, so that the thread needs no TypeScript loader. A PASSIVE checkpoint never blocks
// the server's own connection; it is where the fsyncs of `synchronous = NORMAL` happen. The thread runs
// one checkpoint at once (which opens every file it will use) and raises flags[READY]; on a message it
// closes its connection and raises flags[STOPPED]. The starting and stopping threads wait on those flags.
const READY = 0;
const STOPPED = 1;
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const flags = new Int32Array(workerData.flags);
const raise = (i) => {
  Atomics.store(flags, i, 1);
  Atomics.notify(flags, i);
};
let db;
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    parentPort.postMessage(String((e && e.message) || e));
  }
};
try {
  db = new Database(workerData.path);
  db.pragma('busy_timeout = 5000');
  checkpoint();
} finally {
  raise(${READY});
}
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  raise(${STOPPED});
  parentPort.close();
});
`;
/** How long starting and stopping wait for the thread. */
const WAIT_MS = 5000;

/** A thread checkpointing a WAL database; see {@link startCheckpointer}. */
export interface Checkpointer {
  /** Ends the thread, once it has closed its connection (a checkpoint it is running completes first). */
  stop(): void;
}

/**
 * Checkpoints the WAL database file `path` every `everyMs` on a thread of its own, so that the copying
 * and fsyncs of checkpoints never stall the event loop; the caller turns its own connection's automatic
 * checkpoints off. `onFailure` is told about a failed checkpoint, or that the thread died (then the
 * caller should checkpoint by itself again).
 */
export function startCheckpointer(
  path: string,
  onFailure: (why: string, threadDied: boolean) => void,
  everyMs = CHECKPOINT_EVERY_MS,
): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const shared = new SharedArrayBuffer(8);
  const flags = new Int32Array(shared);
  const worker = new Worker(SOURCE, { eval: true, workerData: { path, everyMs, driver, flags: shared } });
  worker.unref();
  // Synchronous, so that the thread has opened every file of the database once this returns.
  Atomics.wait(flags, READY, 0, WAIT_MS);
  let over = false;
  const died = (why: string) => {
    if (over) return;
    over = true;
    onFailure(why, true);
  };
  worker.on('message', (why: string) => onFailure(why, false));
  worker.on('error', (e) => died(e.message));
  worker.on('exit', (code) => died(`the checkpoint thread exited with ${code}`));
  return {
    stop() {
      if (over) return;
      over = true;
      // Synchronous, so that the database's files are left alone once the store's close returns.
      worker.postMessage('stop');
      Atomics.wait(flags, STOPPED, 0, WAIT_MS);
      void worker.terminate();
    },
  };
}
