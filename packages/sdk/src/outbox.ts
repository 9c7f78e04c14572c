import { type BodyOf, ErrorCode, Limits, type Media, MsgKind, Op, ProtocolError } from '@synkey/protocol';
import { nextSendAttempt, type SendPolicy } from './backoff';
import { describe, isPermanent, ServerError } from './errors';
import type { TransferHooks } from './media/transfer';
import type { OutboxEntry, Store, UploadState } from './store';
import type { Requester } from './transport';

const LONE_SURROGATE = /\p{Cs}/u;
/** What the {@link Outbox} needs around it. */
export interface OutboxDeps {
  store: Store;
  request: Requester;
  policy: SendPolicy;
  random: () => number;
  newId: () => string;
  /** The server acknowledged an entry: store the message (this removes the entry from the store). */
  onAck(entry: OutboxEntry, ack: BodyOf<typeof Op.SEND_ACK>): Promise<void>;
  /** Entries were added or changed state (or upload progress), or were removed. */
  onChange(conv: number, entries: OutboxEntry[], removed: string[]): void;
  onError(error: Error): void;
  /** Stores the file of an image or voice entry on the server; see {@link Transfer}. */
  transfer(entry: OutboxEntry, hooks: TransferHooks): Promise<Media>;
  /** An entry whose file was partly uploaded was removed: drop the upload on the server (best effort). */
  cancelTransfer?(entry: OutboxEntry): void;
}

/** Upload progress is reported at most this often per message. */
export const PROGRESS_INTERVAL_MS = 100;

interface Pending {
  entry: OutboxEntry;
  /** When this entry joined the queue (send, retry, start, or its upload finished): the send budget counts from here. */
  queuedAt: number;
  attempts: number;
  inFlight: boolean;
  /** Aborts the upload of this entry's file while it runs. */
  job?: AbortController;
  /** The fraction of the file uploaded, while the upload runs. */
  progress?: number;
  lastProgressAt: number;
  progressTimer?: ReturnType<typeof setTimeout>;
  /** The file was uploaded again after the server had lost the first copy (done once per queueing). */
  reuploaded?: boolean;
}

/** True for an image or voice entry whose file the server does not hold yet: its SEND cannot go. */
function needsUpload(p: Pending): boolean {
  return p.entry.upload !== undefined && p.entry.upload.media === undefined;
}

/**
 * The upload state of a file to upload again from the start: what the server said about the lost
 * copy goes, what the file itself says (type, size, pixels, digest) stays.
 */
function freshUpload({
  id: _id,
  chunkSize: _chunkSize,
  acked: _acked,
  media: _media,
  ...file
}: UploadState): UploadState {
  return file;
}

/** The queue of one conversation, in the order its SENDs go out. */
interface Lane {
  items: Pending[];
  /** No attempt starts before this time (backoff). */
  retryAt: number;
  /** An attempt failed: once nothing is in flight, send again from the head. */
  rewinding: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  deadline: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The persistent send queue.
 *
 * An entry is in the store before its first attempt, with the same cmid on every attempt. Each
 * conversation has its own lane, and a later message never overtakes an earlier unacknowledged one
 * in it: a lane has at most `policy.window` SENDs in flight, in order (conversations run side by
 * side, and SENDs made in one tick share a BATCH). When an attempt fails or the link drops, the lane
 * stops, waits until nothing of it is in flight and for the backoff, then sends every
 * unacknowledged entry again from the head; the server answers the ones it already stored with
 * their original ack.
 *
 * Giving up: an entry fails after `policy.maxAttempts` attempts (a RATE_LIMITED refusal is no
 * attempt) or when `policy.budgetMs` passed since it was queued (also while offline). The entries
 * queued behind it in its conversation fail with it (rather than wait for it, or go ahead of it);
 * `retry` queues an entry again, behind whatever is queued then. A server answer that no retry can
 * change (FORBIDDEN, NOT_FOUND, INVALID) fails only that entry. An entry that fails but turns out
 * to be stored (its ack arrives late, or a sync brings it) becomes sent.
 *
 * Images and voice notes: the file is uploaded first (see `deps.transfer`), then the SEND goes like
 * any other, with the media id. An entry whose file is still uploading holds its lane: the entries
 * behind it in its conversation wait (in `sending`) and go after it, so a text typed after a photo
 * never arrives before it, while other conversations go on; entries ahead of it send meanwhile, and
 * a lane uploads one file at a time, in order. While a file uploads, its entry does not expire: the
 * upload has its own budget (the same policy, counted from its last progress), and when it gives
 * up the entry fails like a SEND that did (with the entries behind it, unless the server refused
 * the file itself, e.g. UNSUPPORTED_MEDIA). When the upload is done, the send budget of the entry
 * and of those behind it starts afresh. An entry whose file is still uploading may be removed
 * (cancelled); once its SEND may have gone, it may not.
 */
export class Outbox {
  private readonly lanes = new Map<number, Lane>();
  private ready = false;
  private closed = false;

  constructor(private readonly deps: OutboxDeps) {}

  /** Queues the entries left `sending` in the store (from an earlier run). */
  async load(): Promise<void> {
    for (const entry of await this.deps.store.outbox()) if (entry.state === 'sending') this.enqueue(entry);
  }

  /** Drops the queue and loads it again from the store. */
  async reload(): Promise<void> {
    this.clearLanes();
    await this.load();
  }

  /** Stores a text message as `sending`, queues it and resolves its cmid. */
  async send(conv: number, content: { text: string }, cmid?: string): Promise<string> {
    const { text } = content;
    if (typeof text !== 'string' || text.trim() === '') throw invalid('the text is empty');
    if (text.length > Limits.maxText) throw invalid(`the text is longer than ${Limits.maxText} characters`);
    if (LONE_SURROGATE.test(text)) throw invalid('the text has a broken character (a lone UTF-16 surrogate)');
    return this.add(conv, { kind: MsgKind.Text, text }, cmid);
  }

  /**
   * Stores an image or voice message, with its file, as `sending` (before any network), queues it
   * and resolves its cmid. `text` is the caption. The caller has checked the file.
   */
  sendMedia(
    conv: number,
    content: { kind: MsgKind; file: Blob; upload: UploadState; text?: string },
    cmid?: string,
  ): Promise<string> {
    return this.add(conv, content, cmid);
  }

  private async add(
    conv: number,
    content: Pick<OutboxEntry, 'kind' | 'text' | 'file' | 'upload'>,
    cmid: string | undefined,
  ): Promise<string> {
    if (!Number.isSafeInteger(conv) || conv <= 0) throw invalid(`no conversation ${conv}`);
    if (cmid !== undefined) {
      if (typeof cmid !== 'string' || cmid.length === 0 || cmid.length > Limits.maxId) throw invalid('bad clientMsgId');
      // A repeated call (a page re-sending after losing the answer) queues nothing new.
      if (await this.deps.store.outboxEntry(cmid)) return cmid;
    }
    const entry: OutboxEntry = {
      cmid: cmid ?? this.deps.newId(),
      conv,
      kind: content.kind,
      createdAt: Date.now(),
      state: 'sending',
    };
    if (content.text !== undefined) entry.text = content.text;
    if (content.file && content.upload) {
      entry.file = content.file;
      entry.upload = content.upload;
    }
    await this.deps.store.putOutbox(entry);
    this.deps.onChange(conv, [entry], []);
    this.enqueue(entry);
    return entry.cmid;
  }

  /** Queues a failed entry again with the same cmid. Does nothing for an entry that is not failed. */
  async retry(cmid: string): Promise<void> {
    const entry = await this.deps.store.outboxEntry(cmid);
    if (entry?.state !== 'failed') return;
    const next = await this.deps.store.updateOutbox(cmid, { state: 'sending', error: undefined });
    if (!next) return;
    this.deps.onChange(next.conv, [next], []);
    this.enqueue(next);
  }

  /**
   * Deletes a failed entry, or cancels one whose file is still uploading (its upload stops and is
   * dropped on the server). Rejects with INVALID for an entry whose SEND may have gone.
   */
  async remove(cmid: string): Promise<void> {
    const entry = await this.deps.store.outboxEntry(cmid);
    if (!entry) return;
    const queued = this.find(cmid);
    if (entry.state !== 'failed') {
      if (!queued || !needsUpload(queued)) {
        throw invalid('only a failed message, or one whose file is still uploading, can be removed');
      }
      this.drop(entry.conv, [queued]);
    }
    if (await this.deps.store.removeOutbox(cmid)) {
      if (entry.upload?.id !== undefined && entry.upload.media === undefined) this.deps.cancelTransfer?.(entry);
      this.deps.onChange(entry.conv, [], [cmid]);
    }
    this.pump(entry.conv);
  }

  /** The fraction of an entry's file uploaded, while its upload runs. */
  progress(cmid: string): number | undefined {
    return this.find(cmid)?.progress;
  }

  /** Starts (after the sync that follows a connect) or stops sending. */
  setReady(ready: boolean): void {
    this.ready = ready;
    if (ready) for (const conv of this.lanes.keys()) this.pump(conv);
  }

  /** Entries a sync showed to be stored on the server leave the queue. */
  sent(cmids: readonly string[]): void {
    if (cmids.length === 0) return;
    const done = new Set(cmids);
    for (const [conv, lane] of this.lanes) {
      const gone = lane.items.filter((p) => done.has(p.entry.cmid));
      if (gone.length === 0) continue;
      this.drop(conv, gone);
      this.pump(conv);
    }
  }

  /** Stops all timers; nothing is sent any more. */
  close(): void {
    this.closed = true;
    this.clearLanes();
  }

  private enqueue(entry: OutboxEntry): void {
    let lane = this.lanes.get(entry.conv);
    if (!lane) {
      lane = { items: [], retryAt: 0, rewinding: false, timer: undefined, deadline: undefined };
      this.lanes.set(entry.conv, lane);
    }
    lane.items.push({ entry, queuedAt: Date.now(), attempts: 0, inFlight: false, lastProgressAt: 0 });
    this.pump(entry.conv);
  }

  private find(cmid: string): Pending | undefined {
    for (const lane of this.lanes.values()) {
      const p = lane.items.find((q) => q.entry.cmid === cmid);
      if (p) return p;
    }
    return undefined;
  }

  private pump(conv: number): void {
    const lane = this.lanes.get(conv);
    if (!lane || this.closed) return;
    this.armDeadline(conv, lane);
    if (!this.ready || lane.items.length === 0) return;
    const uploading = lane.items.find(needsUpload);
    if (uploading && !uploading.job) this.upload(conv, uploading);
    const wait = lane.retryAt - Date.now();
    if (wait > 0) {
      clearTimeout(lane.timer);
      lane.timer = setTimeout(() => this.pump(conv), wait);
      return;
    }
    let inFlight = lane.items.filter((p) => p.inFlight).length;
    if (lane.rewinding) {
      if (inFlight > 0) return;
      lane.rewinding = false;
    }
    for (const p of lane.items) {
      if (inFlight >= this.deps.policy.window) break;
      if (needsUpload(p)) break;
      if (p.inFlight) continue;
      inFlight++;
      void this.attempt(conv, p);
    }
  }

  private async attempt(conv: number, p: Pending): Promise<void> {
    p.inFlight = true;
    p.attempts++;
    const { cmid, kind, text, upload } = p.entry;
    const body: BodyOf<typeof Op.SEND> = { cmid, conv, kind };
    if (text !== undefined) body.text = text;
    if (upload?.media) body.media = upload.media.id;
    // The server refuses this one unless the message queued before it is stored: order holds whatever it refuses.
    const lane = this.lanes.get(conv);
    const prev = lane?.items[lane.items.indexOf(p) - 1];
    if (prev) body.prev = prev.entry.cmid;
    let ack: BodyOf<typeof Op.SEND_ACK>;
    try {
      ack = await this.deps.request(Op.SEND, body, this.deps.policy.ackTimeoutMs);
    } catch (error) {
      p.inFlight = false;
      await this.failed(conv, p, error as Error).catch((e: Error) => this.deps.onError(e));
      this.pump(conv);
      return;
    }
    p.inFlight = false;
    this.drop(conv, [p]);
    this.pump(conv);
    await this.deps.onAck(p.entry, ack).catch((e: Error) => this.deps.onError(e));
  }

  /** Starts uploading the file of `p`; its SEND goes once the server holds the file. */
  private upload(conv: number, p: Pending): void {
    const job = new AbortController();
    p.job = job;
    const hooks: TransferHooks = {
      signal: job.signal,
      progress: (fraction) => this.reportProgress(conv, p, job, fraction),
      save: async (upload) => {
        const next = await this.deps.store.updateOutbox(p.entry.cmid, { upload });
        if (next && p.job === job) p.entry = next;
      },
    };
    this.deps
      .transfer(p.entry, hooks)
      .then(
        (media) => this.uploaded(conv, p, job, media),
        (error: Error) => this.uploadFailed(conv, p, job, error),
      )
      .catch((error: Error) => this.deps.onError(error));
  }

  private async uploaded(conv: number, p: Pending, job: AbortController, media: Media): Promise<void> {
    if (p.job !== job) return;
    const next = await this.deps.store.updateOutbox(p.entry.cmid, {
      upload: { ...(p.entry.upload as UploadState), media },
    });
    if (p.job !== job) return;
    this.endJob(p);
    const lane = this.lanes.get(conv);
    const at = lane?.items.indexOf(p) ?? -1;
    if (!lane || at < 0) return;
    // Gone from the store: a sync showed the message stored meanwhile.
    if (!next) {
      this.drop(conv, [p]);
      this.pump(conv);
      return;
    }
    p.entry = next;
    const now = Date.now();
    for (const q of lane.items.slice(at)) q.queuedAt = now;
    this.deps.onChange(conv, [next], []);
    this.pump(conv);
  }

  private async uploadFailed(conv: number, p: Pending, job: AbortController, error: Error): Promise<void> {
    if (p.job !== job) return;
    this.endJob(p);
    const lane = this.lanes.get(conv);
    const at = lane?.items.indexOf(p) ?? -1;
    if (!lane || at < 0) return;
    await this.fail(conv, isPermanent(error) ? [p] : lane.items.slice(at), error);
    this.pump(conv);
  }

  /** Records upload progress and reports it, at most every {@link PROGRESS_INTERVAL_MS}. */
  private reportProgress(conv: number, p: Pending, job: AbortController, fraction: number): void {
    if (p.job !== job) return;
    p.progress = Math.min(1, Math.max(0, fraction));
    if (p.progressTimer !== undefined) return;
    const emit = () => {
      p.progressTimer = undefined;
      if (p.job !== job) return;
      p.lastProgressAt = Date.now();
      this.deps.onChange(conv, [p.entry], []);
    };
    const wait = p.lastProgressAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) emit();
    else p.progressTimer = setTimeout(emit, wait);
  }

  /** Stops the upload of `p`, if one runs, and forgets its progress. */
  private endJob(p: Pending): void {
    p.job?.abort();
    p.job = undefined;
    p.progress = undefined;
    clearTimeout(p.progressTimer);
    p.progressTimer = undefined;
  }

  private async failed(conv: number, p: Pending, error: Error): Promise<void> {
    const lane = this.lanes.get(conv);
    const at = lane?.items.indexOf(p) ?? -1;
    if (!lane || at < 0) return;
    // NOT_FOUND for a message whose file the server held: that copy is gone (unsent media are deleted
    // after a while; a server may lose its store). Upload the file again, once, then send.
    const upload = p.entry.upload;
    if (upload?.media && !p.reuploaded && error instanceof ServerError && error.code === ErrorCode.NotFound) {
      p.reuploaded = true;
      const next = await this.deps.store.updateOutbox(p.entry.cmid, { upload: freshUpload(upload) });
      if (next) p.entry = next;
      lane.rewinding = true;
      return;
    }
    if (isPermanent(error)) return this.fail(conv, [p], error);
    // The server asked to slow down and did nothing: that attempt does not count, the budget still does.
    if (error instanceof ServerError && (error.code === ErrorCode.RateLimited || error.code === ErrorCode.OutOfOrder)) {
      p.attempts--;
    }
    const retryMs = error instanceof ServerError ? error.retryMs : undefined;
    const now = Date.now();
    const decision = nextSendAttempt(p.attempts, now - p.queuedAt, retryMs, this.deps.policy, this.deps.random);
    if (!decision.retry) return this.fail(conv, lane.items.slice(at), error);
    lane.rewinding = true;
    lane.retryAt = Math.max(lane.retryAt, now + decision.delayMs);
  }

  private async fail(conv: number, items: Pending[], error: Error): Promise<void> {
    this.drop(conv, items);
    const reason = describe(error);
    const failed: OutboxEntry[] = [];
    for (const p of items) {
      // Gone from the store means a sync or a late ack showed it was stored: it is sent, not failed.
      const entry = await this.deps.store.updateOutbox(p.entry.cmid, { state: 'failed', error: reason });
      if (entry) failed.push(entry);
    }
    if (failed.length > 0) this.deps.onChange(conv, failed, []);
  }

  private drop(conv: number, items: readonly Pending[]): void {
    const lane = this.lanes.get(conv);
    if (!lane) return;
    for (const p of items) this.endJob(p);
    lane.items = lane.items.filter((p) => !items.includes(p));
    if (lane.items.length > 0) return;
    clearTimeout(lane.timer);
    clearTimeout(lane.deadline);
    lane.timer = lane.deadline = undefined;
    lane.retryAt = 0;
    lane.rewinding = false;
  }

  private armDeadline(conv: number, lane: Lane): void {
    clearTimeout(lane.deadline);
    lane.deadline = undefined;
    const head = lane.items[0];
    if (!head) return;
    const left = head.queuedAt + this.deps.policy.budgetMs - Date.now();
    lane.deadline = setTimeout(() => this.expire(conv), Math.max(0, left));
  }

  /** The head of a lane ran out of time while not in flight (offline, or in backoff): the lane fails. */
  private expire(conv: number): void {
    const lane = this.lanes.get(conv);
    const head = lane?.items[0];
    // An upload that runs has its own budget; the lane's deadline starts again when it is done.
    if (!lane || !head || head.inFlight || head.job) return;
    const { budgetMs } = this.deps.policy;
    if (Date.now() - head.queuedAt < budgetMs) {
      this.armDeadline(conv, lane);
      return;
    }
    const error = new ProtocolError(ErrorCode.Timeout, `not acknowledged within ${budgetMs} ms`);
    this.fail(conv, [...lane.items], error).catch((e: Error) => this.deps.onError(e));
  }

  private clearLanes(): void {
    for (const lane of this.lanes.values()) {
      clearTimeout(lane.timer);
      clearTimeout(lane.deadline);
      for (const p of lane.items) this.endJob(p);
    }
    this.lanes.clear();
  }
}

function invalid(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.Invalid, message);
}
