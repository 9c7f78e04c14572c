/**
 * Splits encoded frames, in order, into groups that each fit one message: at most `maxFrames`
 * frames of at most `maxBytes` bytes in total. A frame larger than `maxBytes` travels alone.
 */
export function chunkFrames(frames: readonly Uint8Array[], maxBytes: number, maxFrames: number): Uint8Array[][] {
  const chunks: Uint8Array[][] = [];
  let chunk: Uint8Array[] = [];
  let bytes = 0;
  for (const f of frames) {
    if (chunk.length > 0 && (chunk.length >= maxFrames || bytes + f.length > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(f);
    bytes += f.length;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Collects the frames produced in one tick and hands them to `flush` together, in order. */
export class FrameQueue {
  private frames: Uint8Array[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly flush: (frames: Uint8Array[]) => void) {}

  push(frame: Uint8Array): void {
    this.frames.push(frame);
    this.timer ??= setTimeout(() => this.drain(), 0);
  }

  /** Drops queued frames and cancels the pending flush. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.frames = [];
  }

  private drain(): void {
    const frames = this.frames;
    this.clear();
    if (frames.length > 0) this.flush(frames);
  }
}
