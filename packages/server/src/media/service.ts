import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatStore } from '../store/types';
import { MediaFiles } from './files';
import type { MediaOptions } from './options';
import { UnsentMedia } from './retention';
import { mediaRoutes } from './routes';
import { ImageUploads } from './uploads';
import { UserBuckets } from './user-buckets';
import { VoiceNotes } from './voice';

/** Finished upload records are kept this long, so a late complete or part resend still finds its media. */
const DONE_KEPT_MS = 24 * 3600_000;

/** The server's media: HTTP routes, the voice-part handler and the sweeper of stale uploads and unsent media. */
export interface MediaService {
  routes: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  voice: VoiceNotes;
  /**
   * Deletes stale unfinished uploads, unsent media past the retention and leftover chunk directories now
   * (the sweeper does this every `sweepMs`); returns how many of them went.
   */
  sweep(now?: number): Promise<number>;
  /** Stops the sweeper, waiting for a sweep in progress. */
  close(): Promise<void>;
}

/**
 * Opens the media directory (deleting files a crash left behind that the database does not know, and chunks
 * of uploads that are not open) and starts the sweeper. `admit` may refuse a user's requests (dev mode's
 * offline switch).
 */
export async function startMedia(
  store: ChatStore,
  opts: MediaOptions,
  secret: Uint8Array,
  log: (msg: string, err?: unknown) => void,
  admit?: (user: string) => void,
): Promise<MediaService> {
  const files = new MediaFiles(opts.dir);
  await files.dropOrphans(store.media.storedNames(), (id) => store.media.upload(id)?.media_id === null);
  const uploads = new ImageUploads(store, files, opts);
  const voice = new VoiceNotes(store, files, opts);
  const unsent = new UnsentMedia(store, files, opts.unsentRetentionMs);
  const buckets = new UserBuckets(opts.rateLimit);
  const routes = mediaRoutes({
    store,
    files,
    uploads,
    buckets,
    secret,
    cacheMaxAgeS: opts.cacheMaxAgeS,
    log,
    ...(admit ? { admit } : {}),
  });

  let closed = false;
  async function sweep(now = Date.now()): Promise<number> {
    buckets.sweep(now);
    const before = now - opts.staleUploadMs;
    const voiceNotes = voice.sweep(before, now - Math.max(DONE_KEPT_MS, opts.staleUploadMs));
    const stale = await uploads.sweep(before);
    const media = await unsent.sweep(now, () => closed);
    return voiceNotes + stale + media + (await uploads.sweepChunks());
  }
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(
    () => {
      running = running.then(() => (closed ? 0 : sweep())).catch((e) => log('media sweep failed', e));
    },
    Math.min(opts.sweepMs, opts.staleUploadMs),
  );
  timer.unref();
  return {
    routes,
    voice,
    sweep,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
