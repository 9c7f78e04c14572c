import type { Media } from '@synkey/protocol';
import type { OutboxEntry, UploadState } from '../store';

/** What the outbox gives an upload while it runs. */
export interface TransferHooks {
  /** Aborted when the message is removed, or the engine closes. */
  signal: AbortSignal;
  /** The fraction of the file the server holds now, in [0, 1]. */
  progress(fraction: number): void;
  /** Persists the upload's state with its outbox entry, so that a restart resumes it. */
  save(upload: UploadState): Promise<void>;
}

/**
 * Stores the file of an outbox entry on the server and resolves its Media record. Retries on its
 * own under the send policy; rejects with the error that made it give up, or the abort reason.
 */
export type Transfer = (entry: OutboxEntry, hooks: TransferHooks) => Promise<Media>;
