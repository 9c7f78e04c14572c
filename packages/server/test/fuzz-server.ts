// The server under fuzz, in a child process of its own so that a crash, a hang or heap growth shows
// as exactly that. Started by fuzz-run.ts with --expose-gc and an IPC channel; options come in
// FUZZ_SERVER (JSON). Messages: → {type:'stats', id} ← {type:'stats', id, heapUsed, rss, connections};
// → {type:'close'} ← {type:'closed'}; ← {type:'log', msg, err} for every error the server logs.
import { type ServerOptions, startServer } from '../src/index';

interface Options {
  dbPath: string;
  secret: string;
  maxFrame: number;
  /** The port to listen on (default 0: a free one); the soak restarts the server on the same port. */
  port?: number;
  /** Media settings (the media fuzzer lifts the per-user request rate). */
  media?: ServerOptions['media'];
}

const opts = JSON.parse(process.env.FUZZ_SERVER ?? '{}') as Options;
const send = (m: unknown) => process.send?.(m);
const gc = (globalThis as { gc?: () => void }).gc;

const server = await startServer({
  port: opts.port ?? 0,
  host: '127.0.0.1',
  dbPath: opts.dbPath,
  secret: opts.secret,
  maxFrame: opts.maxFrame,
  // The fuzzers send far faster than any person; the rate limit would refuse nearly everything.
  rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
  ...(opts.media ? { media: opts.media } : {}),
  log: (msg, err) =>
    send({ type: 'log', msg, err: err instanceof Error ? (err.stack ?? err.message) : String(err ?? '') }),
});

process.on('message', (m: { type: string; id?: number }) => {
  if (m.type === 'stats') {
    // Settle first: finalizers and weak references clear on a later turn.
    setImmediate(() => {
      gc?.();
      setImmediate(() => {
        gc?.();
        const mem = process.memoryUsage();
        send({
          type: 'stats',
          id: m.id,
          heapUsed: mem.heapUsed,
          rss: mem.rss,
          gc: gc !== undefined,
          connections: server.connections(),
        });
      });
    });
  } else if (m.type === 'close') {
    server.close().then(() => {
      send({ type: 'closed' });
      process.disconnect();
    });
  }
});
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', url: server.url, wsUrl: server.wsUrl, epoch: server.store.epoch });
