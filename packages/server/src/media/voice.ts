import { createHash } from 'node:crypto';
import { type BodyOf, ErrorCode, Limits, type Media, type Op, ProtocolError } from '@synkey/protocol';
import type { ChatStore } from '../store/types';
import { type MediaFiles, newId } from './files';
import type { MediaOptions } from './options';
import { sniffAudio } from './sniff';

type VoicePart = BodyOf<typeof Op.VOICE_PART>;
type PartAck = BodyOf<typeof Op.PART_ACK>;

const invalid = (message: string) => new ProtocolError(ErrorCode.Invalid, message);

/**
 * Voice notes sent as VOICE_PART frames over either link (PROTOCOL.md §13.2). Parts are held in the
 * database, idempotent on sender+upload+index; the part that completes the set joins them, checks the
 * container from the bytes and stores the file. All of it is synchronous, one request at a time, so two
 * parts can never both complete the same note.
 */
export class VoiceNotes {
  constructor(
    private readonly store: ChatStore,
    private readonly files: MediaFiles,
    private readonly opts: MediaOptions,
  ) {}

  /**
   * Holds a part and answers its PART_ACK, with `media` once the note is stored. Throws ProtocolError:
   * INVALID (bad id, index, size or final-part claim), MEDIA_TOO_LARGE (the note passes
   * `Limits.maxVoiceBytes`; the upload is dropped), UNSUPPORTED_MEDIA (not WebM, Ogg or MP4; dropped),
   * RATE_LIMITED (too many unfinished notes).
   */
  part(user: string, req: VoicePart): PartAck {
    const { upload, index, data } = req;
    if (upload.length === 0 || upload.length > Limits.maxId)
      throw invalid(`upload must be 1..${Limits.maxId} characters`);
    if (index >= this.opts.maxVoiceParts) throw invalid(`a voice note has at most ${this.opts.maxVoiceParts} parts`);
    if (data.length > Limits.maxVoicePart) throw invalid(`a part carries at most ${Limits.maxVoicePart} bytes`);
    const durationMs = req.durationMs === undefined ? undefined : Math.min(req.durationMs, Limits.maxVoiceMs);
    const media = this.store.media;
    const held = media.addVoicePart(
      user,
      { upload, index, data, last: req.last === true, ...(durationMs === undefined ? {} : { durationMs }) },
      this.opts.quota,
      Limits.maxVoiceBytes,
    );
    switch (held.state) {
      case 'done':
        return { upload, index, media: held.media };
      case 'stored':
        return { upload, index };
      case 'too-large':
        media.dropVoice(user, upload);
        throw new ProtocolError(ErrorCode.MediaTooLarge, `a voice note is at most ${Limits.maxVoiceBytes} bytes`);
      case 'complete':
        return { upload, index, media: this.join(user, upload) };
    }
  }

  /** Deletes unfinished voice notes idle since before `before` and finished records older than `doneBefore`. */
  sweep(before: number, doneBefore: number): number {
    return this.store.media.sweepRecords(before, doneBefore);
  }

  private join(user: string, upload: string): Media {
    const media = this.store.media;
    const bytes = Buffer.concat(media.voiceParts(user, upload));
    const mime = sniffAudio(bytes);
    if (!mime) {
      media.dropVoice(user, upload);
      throw new ProtocolError(ErrorCode.UnsupportedMedia, 'the voice note is not WebM, Ogg or MP4 audio');
    }
    const file = this.files.storeSync(bytes);
    let done: { media: Media; unused: boolean };
    try {
      done = media.finish(
        {
          sourceSha256: createHash('sha256').update(bytes).digest('hex'),
          sourceSize: bytes.length,
          file,
          thumb: null,
          thumbMime: null,
          mime,
          size: bytes.length,
          width: null,
          height: null,
        },
        { id: newId(), owner: user, name: null, durationMs: media.voiceDuration(user, upload) },
        { voice: upload },
      );
    } catch (e) {
      this.files.removeSync(file);
      throw e;
    }
    if (done.unused) this.files.removeSync(file);
    return done.media;
  }
}
