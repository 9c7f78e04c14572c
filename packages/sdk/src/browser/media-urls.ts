import type { Media } from '@synkey/protocol';
import { ErrorCode, ProtocolError } from '@synkey/protocol/lite';

/** Which file of a media record: the file itself, or an image's thumbnail. */
export type MediaVariant = 'full' | 'thumb';

/** The object-URL functions; the page's `URL` by default. */
export interface ObjectUrls {
  createObjectURL(blob: Blob): string;
  revokeObjectURL(url: string): void;
}

interface Entry {
  /** The page had this file already (my own image, just uploaded): it stands in for its thumbnail too. */
  seeded?: boolean;
  /** A seeded file whose URL is not made yet (it is made on first use). */
  blob?: Blob;
  url?: Promise<string>;
  /** The URL once made, to revoke. */
  made?: string;
}

/** Object URLs kept at most, by default. */
export const MEDIA_URL_CAP = 200;

/**
 * Object URLs of media files, made in the page from the Blobs the engine fetches, cached by id and
 * variant (least recently used dropped beyond `cap`, their URLs revoked) and revoked all at once by
 * {@link MediaUrls.clear}. Concurrent asks for one file share one fetch; a failed fetch is not kept.
 */
export class MediaUrls {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly load: (id: string, variant: MediaVariant) => Promise<Blob>,
    private readonly cap = MEDIA_URL_CAP,
    private readonly urls: ObjectUrls = URL,
  ) {}

  /**
   * An object URL of the file: cached, or fetched by the engine. The thumbnail of an image I just
   * sent is answered with the file the page holds (no download, no flash from preview to
   * thumbnail). Rejects with NOT_FOUND when the user may not see it, INVALID for something that is
   * not a media record or id.
   */
  get(media: Media | string, variant: MediaVariant = 'full'): Promise<string> {
    const id = typeof media === 'string' ? media : (media as Media | undefined)?.id;
    if (typeof id !== 'string' || id === '') {
      return Promise.reject(new ProtocolError(ErrorCode.Invalid, 'mediaUrl needs a media record or id'));
    }
    const which: MediaVariant = variant === 'thumb' ? 'thumb' : 'full';
    const fullKey = `full:${id}`;
    const full = this.entries.get(fullKey);
    if (which === 'thumb' && full?.seeded) return this.use(fullKey, full);
    const key = `${which}:${id}`;
    const known = this.entries.get(key);
    if (known) return this.use(key, known);
    const entry: Entry = {};
    entry.url = this.load(id, which).then(
      (blob) => this.make(key, entry, blob),
      (error: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw error;
      },
    );
    this.entries.set(key, entry);
    this.evict();
    return entry.url;
  }

  /** Remembers a file the page holds (an image I sent) as the full file of media `id`. */
  seed(id: string, blob: Blob): void {
    const key = `full:${id}`;
    if (this.entries.has(key)) return;
    this.entries.set(key, { seeded: true, blob });
    this.evict();
  }

  /** Revokes every URL and forgets every file. */
  clear(): void {
    for (const entry of this.entries.values()) if (entry.made) this.urls.revokeObjectURL(entry.made);
    this.entries.clear();
  }

  /** Marks `entry` most recently used and resolves its URL (made now for a seeded file). */
  private use(key: string, entry: Entry): Promise<string> {
    this.entries.delete(key);
    this.entries.set(key, entry);
    entry.url ??= Promise.resolve().then(() => this.make(key, entry, entry.blob as Blob));
    return entry.url;
  }

  private make(key: string, entry: Entry, blob: Blob): string {
    // Cleared (the client closed) while the file loaded: no URL that nothing would revoke.
    if (this.entries.get(key) !== entry) throw new ProtocolError(ErrorCode.Unavailable, 'the client is closed');
    entry.made = this.urls.createObjectURL(blob);
    delete entry.blob;
    return entry.made;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.cap) return;
      if (entry.url && entry.made === undefined) continue;
      this.entries.delete(key);
      if (entry.made) this.urls.revokeObjectURL(entry.made);
    }
  }
}
