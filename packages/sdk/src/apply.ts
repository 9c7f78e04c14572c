import type { SyncEvent } from '@synkey/protocol';
import { applyToSnapshot, idsOf, outboxCandidates } from './apply-model';
import type { Changes, StoreTx } from './store';

/**
 * Applies events inside one store transaction (semantics: {@link applyToSnapshot}) in three steps:
 * reads what they touch in a few batched requests, computes in memory, then issues every write at
 * once. Idempotent: applying an event a second time changes nothing and reports nothing.
 */
export async function applyEvents(tx: StoreTx, events: readonly SyncEvent[], me: string): Promise<Changes> {
  const ids = idsOf(events);
  const [convs, msgs] = await Promise.all([tx.conversations(ids.convs), tx.messages(ids.msgs)]);
  const stored = new Map(ids.msgs.map((id, i) => [id, msgs[i]]));
  const cmids = outboxCandidates(events, stored, me);
  const snapshot = {
    convs: new Map(ids.convs.map((id, i) => [id, convs[i]])),
    msgs: stored,
    outbox: cmids.length > 0 ? await tx.outboxHas(cmids) : new Set<string>(),
  };
  const { writes, changes } = applyToSnapshot(snapshot, events, me);
  await tx.write(writes);
  return changes;
}
