// The media fuzzer's model of what the server holds for one user — image uploads and the chunks they
// hold, media records and who may read them, voice notes and their parts — and what each request must
// get given that state (PROTOCOL.md §13). Each fuzz user is driven by one worker, one request at a time
// (concurrent ones are judged together by the worker), so the model knows the server's state exactly.
import { ErrorCode, Limits, type Media, MsgKind } from '@synkey/protocol';
import type { ImageClass } from './fuzz-media-images';
import { chunkIndex, chunkLength, type Outcome, type ValidCreate } from './fuzz-media-oracle';

/** A media record of the model, with the served bytes once fetched. */
export interface ModelMedia {
  id: string;
  media: Media;
  kind: 'image' | 'voice';
  /** Conversations it was sent to (their members may read it). */
  sentTo: Set<number>;
  full?: Buffer;
  etag?: string;
  thumb?: Buffer;
  thumbEtag?: string;
}

/** An image upload of the model. */
export interface ModelUpload {
  id: string;
  size: number;
  chunkSize: number;
  chunks: number;
  sha256: string;
  /** The bytes the worker sends for it (a liar's differ from the declaration). */
  file: Buffer;
  cls: ImageClass;
  /** Whether `file` has the declared size and digest. */
  honest: boolean;
  /** Chunks held: whether each holds the file's bytes. */
  held: Map<number, boolean>;
  state: 'open' | 'done' | 'gone';
  media?: ModelMedia;
  name?: string;
}

/** A voice note of the model. */
export interface ModelVoice {
  parts: Map<number, Buffer>;
  last: number | null;
  bytes: number;
  durationMs?: number;
  state: 'open' | 'done';
  media?: ModelMedia;
}

/** Per-user quotas of the server (MEDIA_DEFAULTS.quota). */
export const QUOTA = {
  maxOpenUploads: 8,
  maxOpenBytes: 100 * 1024 * 1024,
  maxBytesPerDay: 1024 * 1024 * 1024,
  maxOpenVoice: 8,
};
const MAX_VOICE_PARTS = 1024;

/** State shared by every worker: stored image digests and ids of others' uploads and media. */
export class World {
  /** `sha256:size` of each stored image source → its media as first stored (every copy has its metadata). */
  readonly stored = new Map<string, Media>();
  /** The current model of each worker. */
  readonly models: UserModel[] = [];
  /** Media and upload ids of users other than the one asking. */
  readonly foreign: { owner: string; id: string }[] = [];
  /** Stored files fetched and checked, to fetch again after a restart. */
  readonly samples: { owner: string; id: string; sha256: string }[] = [];

  addForeign(owner: string, id: string): void {
    if (this.foreign.length < 4000) this.foreign.push({ owner, id });
    else this.foreign[Math.floor(Math.random() * this.foreign.length)] = { owner, id };
  }
}

/** The image type of a file by its magic number (PROTOCOL.md §13.1: "the bytes decide"). */
export function sniffImage(b: Uint8Array): string | undefined {
  const at = (s: number[], o = 0) => b.length >= o + s.length && s.every((x, i) => b[o + i] === x);
  const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
  if (at([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (at([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (at(ascii('RIFF')) && at(ascii('WEBP'), 8)) return 'image/webp';
  if (at(ascii('GIF87a')) || at(ascii('GIF89a'))) return 'image/gif';
  return undefined;
}

/** The voice container of a file by its magic (§13.2: WebM, Ogg, MP4). */
export function sniffAudio(b: Uint8Array): string | undefined {
  const at = (s: number[], o = 0) => b.length >= o + s.length && s.every((x, i) => b[o + i] === x);
  if (at([0x1a, 0x45, 0xdf, 0xa3])) return 'audio/webm';
  if (at([0x4f, 0x67, 0x67, 0x53])) return 'audio/ogg';
  if (at([0x66, 0x74, 0x79, 0x70], 4)) return 'audio/mp4';
  return undefined;
}

/** Checks an image Media record (from complete or dedupe) against the source file. */
export function checkImageMedia(m: unknown, source: Buffer | undefined): string | undefined {
  const media = m as Media | undefined;
  if (!media || typeof media.id !== 'string' || media.id.length === 0) return `no media: ${JSON.stringify(m)}`;
  if (!['image/jpeg', 'image/png', 'image/webp', 'image/gif'].includes(media.mime)) return `media mime ${media.mime}`;
  if (source && sniffImage(source) !== media.mime)
    return `stored as ${media.mime}, but the bytes are ${sniffImage(source) ?? 'no image'}`;
  if (!Number.isSafeInteger(media.size) || media.size <= 0) return `media size ${media.size}`;
  const { width, height } = media;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width! <= 0 || height! <= 0)
    return `media dimensions ${width}x${height}`;
  if (width! * height! > Limits.maxImagePixels) return `a stored image of ${width}x${height} pixels, over the limit`;
  return undefined;
}

/** The model of one fuzz user. */
export class UserModel {
  readonly uploads = new Map<string, ModelUpload>();
  readonly media = new Map<string, ModelMedia>();
  readonly voice = new Map<string, ModelVoice>();
  /** `sha256:size` of each image this user stored: dedupe answers only these (§13.1), never others' files. */
  readonly stored = new Set<string>();
  /** Declared bytes of every upload ever opened (dropped ones included): an upper bound of today's. */
  everOpened = 0;

  constructor(
    readonly user: string,
    readonly peer: string,
    readonly conv: number,
  ) {}

  /** Whether `viewer` (this user or its peer) may read media `id`. */
  readable(id: string, viewer: string): ModelMedia | undefined {
    const m = this.media.get(id);
    if (!m) return undefined;
    return viewer === this.user || (viewer === this.peer && m.sentTo.has(this.conv)) ? m : undefined;
  }

  private open(): ModelUpload[] {
    return [...this.uploads.values()].filter((u) => u.state === 'open');
  }

  /** Whether an image with this `sha256:size` may be stored by now: an upload of it racing may complete at any time. */
  private mayBeStored(key: string): boolean {
    return [...this.uploads.values()].some(
      (u) => u.state === 'open' && `${u.sha256}:${u.size}` === key && this.completeOutcomes(u, true).includes(200),
    );
  }

  /** What POST /media/uploads with a valid body may get besides its refusals: 200 dedupe, 201, or 429 over quota. */
  createOutcomes(v: ValidCreate): Outcome[] {
    const key = `${v.sha256}:${v.size}`;
    if (this.stored.has(key)) return [200];
    const out: Outcome[] = this.mayBeStored(key) ? [200] : [];
    const open = this.open();
    const openBytes = open.reduce((n, u) => n + u.size, 0);
    const todayLow = [...this.uploads.values()].filter((u) => u.state !== 'gone').reduce((n, u) => n + u.size, 0);
    const over = (day: number) =>
      open.length >= QUOTA.maxOpenUploads ||
      openBytes + v.size > QUOTA.maxOpenBytes ||
      day + v.size > QUOTA.maxBytesPerDay;
    if (!over(todayLow)) out.push(201);
    if (over(this.everOpened)) out.push(ErrorCode.RateLimited);
    return out;
  }

  /** Records a new upload (201). */
  opened(id: string, v: ValidCreate, file: Buffer, cls: ImageClass, honest: boolean): ModelUpload {
    const u: ModelUpload = {
      id,
      size: v.size,
      chunkSize: v.chunkSize,
      chunks: v.chunks,
      sha256: v.sha256,
      file,
      cls,
      honest,
      held: new Map(),
      state: 'open',
      ...(v.name === undefined ? {} : { name: v.name }),
    };
    this.uploads.set(id, u);
    this.everOpened += v.size;
    return u;
  }

  /** What PUT of chunk `segment` with `length` body bytes may get. */
  putOutcomes(u: ModelUpload | undefined, segment: string, length: number): Outcome[] {
    if (!u || u.state === 'gone') return [ErrorCode.NotFound];
    const index = chunkIndex(segment);
    if (index === undefined || index >= u.chunks) return [ErrorCode.Invalid];
    if (length !== chunkLength(u.size, u.chunkSize, index)) return [ErrorCode.Invalid];
    return [204];
  }

  /** Records a held chunk (first write wins). */
  put(u: ModelUpload, segment: string, body: Uint8Array): void {
    const index = chunkIndex(segment)!;
    if (u.state !== 'open' || u.held.has(index)) return;
    const want = u.file.subarray(index * u.chunkSize, index * u.chunkSize + u.chunkSize);
    u.held.set(index, Buffer.from(body.buffer, body.byteOffset, body.byteLength).equals(want));
  }

  /** The chunk indexes held, ascending. */
  have(u: ModelUpload): number[] {
    return [...u.held.keys()].sort((a, b) => a - b);
  }

  /** What complete may get (`all`: as if every chunk were held). */
  completeOutcomes(u: ModelUpload | undefined, all = false): Outcome[] {
    if (!u || u.state === 'gone') return [ErrorCode.NotFound];
    if (u.state === 'done') return [200];
    if (u.held.size < u.chunks && !all) return [ErrorCode.UploadIncomplete];
    if (!u.honest || [...u.held.values()].some((right) => !right)) return [ErrorCode.Invalid];
    return {
      valid: [200],
      maybe: [200, ErrorCode.MediaTooLarge, ErrorCode.UnsupportedMedia],
      bomb: [ErrorCode.MediaTooLarge, ErrorCode.UnsupportedMedia],
      'not-image': [ErrorCode.UnsupportedMedia],
    }[u.cls];
  }

  // ---- voice

  private openVoice(): number {
    return [...this.voice.values()].filter((v) => v.state === 'open').length;
  }

  /**
   * What a VOICE_PART may get (§13.2): `ack`, `media` (an ack carrying the note's media), or a refusal.
   * Where two rules are broken at once, either refusal.
   */
  partOutcomes(p: PartReq): Outcome[] {
    const basic =
      p.upload.length === 0 ||
      p.upload.length > Limits.maxId ||
      p.index >= MAX_VOICE_PARTS ||
      p.data.length > Limits.maxVoicePart;
    const note = this.voice.get(p.upload);
    if (basic) return note?.state === 'done' ? [ErrorCode.Invalid, 'media'] : [ErrorCode.Invalid];
    if (note?.state === 'done') return ['media'];
    if (!note && this.openVoice() >= QUOTA.maxOpenVoice) return [ErrorCode.RateLimited];
    const last = note?.last ?? null;
    const held = note?.parts ?? new Map<number, Buffer>();
    if (last !== null && p.index > last) return [ErrorCode.Invalid];
    if (p.last && last !== null && last !== p.index) return [ErrorCode.Invalid];
    if (p.last && [...held.keys()].some((i) => i > p.index)) return [ErrorCode.Invalid];
    if (!held.has(p.index) && (note?.bytes ?? 0) + p.data.length > Limits.maxVoiceBytes)
      return [ErrorCode.MediaTooLarge];
    const lastNow = p.last ? p.index : last;
    const count = held.size + (held.has(p.index) ? 0 : 1);
    if (lastNow === null || count !== lastNow + 1) return ['ack'];
    const parts = new Map(held);
    if (!parts.has(p.index)) parts.set(p.index, p.data);
    const bytes = Buffer.concat([...parts.entries()].sort((a, b) => a[0] - b[0]).map(([, d]) => d));
    return sniffAudio(bytes) ? ['media'] : [ErrorCode.UnsupportedMedia];
  }

  /** Applies a part's outcome; returns a problem with the ack's media, if any. */
  part(p: PartReq, outcome: Outcome, media: Media | undefined): string | undefined {
    let note = this.voice.get(p.upload);
    if (outcome === ErrorCode.MediaTooLarge || outcome === ErrorCode.UnsupportedMedia) {
      this.voice.delete(p.upload);
      return undefined;
    }
    if (outcome !== 'ack' && outcome !== 'media') return undefined;
    if (note?.state === 'done') {
      return media?.id === note.media?.id
        ? undefined
        : `a resent part answered media ${media?.id}, not ${note.media?.id}`;
    }
    if (!note) {
      note = { parts: new Map(), last: null, bytes: 0, state: 'open' };
      this.voice.set(p.upload, note);
    }
    if (!note.parts.has(p.index)) {
      note.parts.set(p.index, p.data);
      note.bytes += p.data.length;
    }
    if (p.last) {
      note.last = p.index;
      if (p.durationMs !== undefined) note.durationMs = p.durationMs;
    }
    if (outcome === 'ack') return media ? `an ack with media ${media.id} before the note is whole` : undefined;
    const bytes = Buffer.concat([...note.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, d]) => d));
    const want = {
      mime: sniffAudio(bytes),
      size: bytes.length,
      ...(note.durationMs === undefined ? {} : { durationMs: Math.min(note.durationMs, Limits.maxVoiceMs) }),
    };
    if (!media || media.mime !== want.mime || media.size !== want.size || media.durationMs !== want.durationMs)
      return `the note's media is ${JSON.stringify(media)}, expected ${JSON.stringify(want)}`;
    note.state = 'done';
    note.media = { id: media.id, media, kind: 'voice', sentTo: new Set(), full: bytes };
    this.media.set(media.id, note.media);
    return undefined;
  }

  // ---- SEND with media

  /** What a SEND of `kind` naming `media` (or none) in this user's conversation may get: `ack` or a refusal. */
  sendOutcomes(kind: number, media: string | undefined): Outcome[] {
    if (kind === MsgKind.Text) return media === undefined ? ['ack'] : [ErrorCode.Invalid];
    if (media === undefined) return [ErrorCode.Invalid];
    if (media.length === 0 || media.length > Limits.maxId) return [ErrorCode.Invalid];
    const own = this.media.get(media);
    if (own) return (kind === MsgKind.Image) === (own.kind === 'image') ? ['ack'] : [ErrorCode.Invalid];
    if (this.uploads.get(media)?.state === 'open' || this.voice.get(media)?.state === 'open')
      return [ErrorCode.UploadIncomplete];
    return [ErrorCode.NotFound];
  }
}

/** A VOICE_PART body. */
export interface PartReq {
  upload: string;
  index: number;
  data: Buffer;
  last?: boolean;
  mime?: string;
  durationMs?: number;
}
