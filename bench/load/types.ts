/** What a load client reports back to its generator. */
export interface LoadEvents {
  /** The server acknowledged the send tagged `tag`. */
  acked(tag: string): void;
  /** The message tagged `tag` reached its recipient (for Synkey: the recipient synced it). */
  delivered(tag: string): void;
  /** The server answered with an error. */
  failed(reason: string): void;
}

/** One simulated user on one long link. */
export interface LoadClient {
  readonly user: string;
  /** Sends `text` (which carries `tag`) to this client's peer. */
  send(tag: string, text: string): void;
  /** True while a sync is in flight or owed (Synkey); always false for the relay. */
  readonly busy: boolean;
  close(): void;
}
