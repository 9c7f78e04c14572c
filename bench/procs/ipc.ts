// The child side of bench/child.ts: answers `memory` and `cpu`, and the commands a script adds.

type Handler = (msg: Record<string, unknown>) => unknown;

const handlers = new Map<string, Handler>([
  [
    'memory',
    async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      for (let i = 0; i < 3; i++) {
        gc?.();
        await new Promise((r) => setTimeout(r, 50));
      }
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
      return { rss, heapUsed, heapTotal, external, arrayBuffers };
    },
  ],
  ['cpu', () => process.cpuUsage()],
]);

/** Registers the handler of `cmd`; its result (or thrown error) is sent back to the parent. */
export function handle(cmd: string, fn: Handler): void {
  handlers.set(cmd, fn);
}

process.on('message', async (msg: { id: number; cmd: string }) => {
  const fn = handlers.get(msg.cmd);
  try {
    if (!fn) throw new Error(`unknown command ${msg.cmd}`);
    process.send?.({ id: msg.id, ok: (await fn(msg)) ?? null });
  } catch (e) {
    process.send?.({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
// The parent going away (bench interrupted) ends the child too.
process.on('disconnect', () => process.exit(0));
