/**
 * Pure arithmetic of splitting a file into numbered pieces: image chunks (HTTP) and voice parts
 * (VOICE_PART frames) alike. Every piece but the last is exactly `pieceSize` bytes.
 */

/** How many pieces of `pieceSize` bytes a file of `size` bytes has (an empty file has one, empty). */
export function pieceCount(size: number, pieceSize: number): number {
  if (!(pieceSize > 0)) throw new RangeError(`bad piece size ${pieceSize}`);
  return Math.max(1, Math.ceil(size / pieceSize));
}

/** The byte range `[start, end)` of piece `index`. */
export function pieceRange(size: number, pieceSize: number, index: number): { start: number; end: number } {
  const start = index * pieceSize;
  return { start, end: Math.min(size, start + pieceSize) };
}

/** The pieces not in `have`, ascending; indexes outside the file in `have` are ignored. */
export function missingPieces(count: number, have: Iterable<number>): number[] {
  const held = new Set(have);
  const out: number[] = [];
  for (let i = 0; i < count; i++) if (!held.has(i)) out.push(i);
  return out;
}

/** The bytes the pieces in `have` hold together (each counted once). */
export function heldBytes(size: number, pieceSize: number, have: Iterable<number>): number {
  const count = pieceCount(size, pieceSize);
  let bytes = 0;
  for (const i of new Set(have)) {
    if (!Number.isInteger(i) || i < 0 || i >= count) continue;
    const { start, end } = pieceRange(size, pieceSize, i);
    bytes += end - start;
  }
  return bytes;
}

/** The fraction of a file the pieces in `have` hold, in [0, 1]. */
export function heldFraction(size: number, pieceSize: number, have: Iterable<number>): number {
  return size === 0 ? 0 : heldBytes(size, pieceSize, have) / size;
}
