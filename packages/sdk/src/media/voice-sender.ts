import { type BodyOf, ErrorCode, type Media, Op, ProtocolError } from '@synkey/protocol';
import type { SendPolicy } from '../backoff';
import type { OutboxEntry, UploadState } from '../store';
import type { Requester } from '../transport';
import { heldFraction, missingPieces, pieceCount, pieceRange } from './chunks';
import { aborted } from './limiter';
import { RetryBudget } from './retry';
import type { TransferHooks } from './transfer';

/**
 * Default bytes per VOICE_PART: 16 KiB is about one second of Opus at 128 kbit/s (four at the
 * recorder's 32 kbit/s), a small frame that never holds a link up for long, well under
 * `Limits.maxVoicePart` (64 KiB) and any `maxFrame`.
 */
export const VOICE_PART_BYTES = 16 * 1024;
/** Default VOICE_PARTs waiting for their PART_ACK at once. */
export const VOICE_WINDOW = 4;

/** What {@link sendVoiceParts} needs. */
export interface VoiceSendDeps {
  /** Sends a request on whatever link is up (WebSocket or HTTP short link). */
  request: Requester;
  policy: SendPolicy;
  random: () => number;
  /** Bytes per part (kept with the upload: a resumed upload keeps its numbering). */
  partSize: number;
  /** Parts in flight at once. */
  window: number;
  /** A new upload id (unique per sender). */
  newId: () => string;
}

/**
 * Sends the voice note of an outbox entry as VOICE_PART frames over the current link
 * (docs/PROTOCOL.md §13.2) and resolves its Media.
 *
 * Parts go `deps.window` at a time; each waits for its PART_ACK, and one that gets none in
 * `policy.ackTimeoutMs` (or whose link dropped) is sent again, alone, with the same upload id and
 * index. The acknowledged parts are saved with the entry, so a reload sends only the others. The
 * final part carries `last`, the type and the duration; the PART_ACK that completes the set carries
 * the Media. When every part is acked and none brought the Media, the final part is sent again (a
 * stored upload answers with its Media); when even that does not, the server lost the parts, and
 * all of them are sent again once.
 */
export async function sendVoiceParts(entry: OutboxEntry, hooks: TransferHooks, deps: VoiceSendDeps): Promise<Media> {
  const { file, upload } = entry;
  if (!file || !upload) throw new ProtocolError(ErrorCode.Invalid, 'the message has no voice note to send');
  if (upload.media) return upload.media;
  const { signal } = hooks;
  const budget = new RetryBudget(deps.policy, deps.random, signal);
  let state: UploadState = { ...upload };
  if (state.id === undefined || state.chunkSize === undefined) {
    state = { ...state, id: state.id ?? deps.newId(), chunkSize: state.chunkSize ?? deps.partSize };
    await hooks.save(state);
  }
  const id = state.id as string;
  const partSize = state.chunkSize as number;
  const count = pieceCount(file.size, partSize);
  const acked = new Set(state.acked ?? []);
  let media: Media | undefined;

  const sendPart = async (index: number) => {
    const { start, end } = pieceRange(file.size, partSize, index);
    const body: BodyOf<typeof Op.VOICE_PART> = {
      upload: id,
      index,
      data: new Uint8Array(await file.slice(start, end).arrayBuffer()),
    };
    if (index === count - 1) {
      body.last = true;
      if (state.mime) body.mime = state.mime;
      if (state.durationMs !== undefined) body.durationMs = state.durationMs;
    }
    const ack = await budget.run(() => deps.request(Op.VOICE_PART, body, deps.policy.ackTimeoutMs));
    if (signal.aborted) throw aborted(signal);
    if (ack.media) media = ack.media;
    acked.add(index);
    hooks.progress(heldFraction(file.size, partSize, acked));
    state = { ...state, acked: [...acked].sort((a, b) => a - b) };
    await hooks.save(state);
  };

  hooks.progress(heldFraction(file.size, partSize, acked));
  for (let round = 0; round < 2 && !media; round++) {
    await pool(missingPieces(count, acked), deps.window, sendPart, signal);
    if (!media) await sendPart(count - 1);
    if (!media) {
      acked.clear();
      state = { ...state, acked: [] };
      await hooks.save(state);
    }
  }
  if (!media)
    throw new ProtocolError(ErrorCode.Internal, 'the server acknowledged every part but stored no voice note');
  hooks.progress(1);
  return media;
}

/** Runs `run` over `items`, at most `width` at a time; stops taking new items after the first failure. */
async function pool(
  items: readonly number[],
  width: number,
  run: (item: number) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined && !signal.aborted) {
      const item = items[next++] as number;
      try {
        await run(item);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, width), items.length) }, worker));
  if (signal.aborted) throw aborted(signal);
  if (failure !== undefined) throw failure;
}
