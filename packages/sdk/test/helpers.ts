import type { Requester } from '../src/transport';

/** Resolves once `predicate` holds; rejects with `what` after `timeoutMs`. Never asserts timing. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'the condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A deterministic source of numbers in [0, 1). */
export function fixedRandom(value: number): () => number {
  return () => value;
}

/** Types a test double that answers requests by op as a {@link Requester}. */
export function asRequester(fn: (op: number, body: never, timeoutMs?: number) => Promise<unknown>): Requester {
  return fn as unknown as Requester;
}
