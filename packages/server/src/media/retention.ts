import type { ChatStore, MediaKey } from '../store/types';
import type { MediaFiles } from './files';

/** Media examined per transaction: each page is one short write, and the event loop runs between pages. */
const PAGE = 200;

/**
 * Deletes media that were uploaded but never sent once they are older than the retention (PROTOCOL.md
 * §13). Rows go first, in one transaction per page, then the files no row names any more: a crash between
 * the two leaves only files the database does not know, which start-up deletes ({@link MediaFiles.dropOrphans}).
 * A sweep resumes where the last one stopped: media it passed were either deleted or sent, and sent media
 * stay sent (messages are never deleted), so each media is examined once per process.
 */
export class UnsentMedia {
  private from: MediaKey | undefined;

  constructor(
    private readonly store: ChatStore,
    private readonly files: MediaFiles,
    private readonly retentionMs: number,
  ) {}

  /** Deletes unsent media made before `now - retentionMs` until none is left or `stop()`; returns how many. */
  async sweep(now: number, stop: () => boolean): Promise<number> {
    const before = now - this.retentionMs;
    let dropped = 0;
    for (;;) {
      const page = this.store.media.dropUnsent(before, this.from, PAGE);
      if (page.last) this.from = page.last;
      dropped += page.dropped;
      await this.files.remove(...page.files);
      if (!page.more || stop()) return dropped;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
