// Everything the engine needs for images and voice notes, behind one module the engine imports on
// first use: pages that only ever send text never load it (the embed ships it as its own chunk).
import { Limits, MsgKind } from '@synkey/protocol';
import type { SendPolicy } from '../backoff';
import type { OutboxEntry } from '../store';
import type { Requester } from '../transport';
import { type MediaFetch, MediaHttp } from './http';
import { Limiter } from './limiter';
import type { TransferHooks } from './transfer';
import { uploadImage } from './uploader';
import { sendVoiceParts, VOICE_PART_BYTES, VOICE_WINDOW } from './voice-sender';

/** What {@link createMediaKit} needs from its engine. */
export interface MediaKitOptions {
  /** The media API's base URL. */
  base: string;
  fetch: MediaFetch;
  /** The current token; `refused` is one the server just turned down. */
  token(refused?: string): Promise<string>;
  timeoutMs: number;
  /** The long/short link, for voice parts. */
  request: Requester;
  policy: SendPolicy;
  random: () => number;
  newId: () => string;
  /** Image chunks in flight at once, across all uploads. */
  concurrency: number;
  chunkSize?: number;
  voicePartSize?: number;
  voiceWindow?: number;
}

/** The media side of an engine: uploads for the outbox, downloads for the page. */
export interface MediaKit {
  readonly http: MediaHttp;
  /** Stores the file of `entry` on the server (chunked upload or voice parts). */
  transfer(entry: OutboxEntry, hooks: TransferHooks): ReturnType<typeof uploadImage>;
  /** Tells the server to drop the unfinished upload of a removed message. */
  cancel(entry: OutboxEntry): void;
}

/** Makes the media side of an engine. */
export function createMediaKit(o: MediaKitOptions): MediaKit {
  const http = new MediaHttp({ base: o.base, fetch: o.fetch, token: o.token, timeoutMs: o.timeoutMs });
  const limiter = new Limiter(o.concurrency);
  const chunkSize = Math.min(o.chunkSize ?? Limits.imageChunk, Limits.maxImageChunk);
  const partSize = Math.min(o.voicePartSize ?? VOICE_PART_BYTES, Limits.maxVoicePart);
  const window = o.voiceWindow ?? VOICE_WINDOW;
  const { request, policy, random } = o;
  return {
    http,
    transfer: (entry, hooks) =>
      entry.kind === MsgKind.Voice
        ? sendVoiceParts(entry, hooks, { request, policy, random, partSize, window, newId: o.newId })
        : uploadImage(entry, hooks, { http, limiter, policy, random, chunkSize }),
    cancel(entry) {
      const id = entry.upload?.id;
      if (entry.kind === MsgKind.Image && id !== undefined) http.cancel(id).catch(() => undefined);
    },
  };
}
