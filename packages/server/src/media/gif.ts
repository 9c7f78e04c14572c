/** A GIF that does not parse. */
export class MalformedGif extends Error {
  override name = 'MalformedGif';
}

const KEPT_APPS = new Set(['NETSCAPE2.0', 'ANIMEXTS1.0']);

/**
 * Removes the metadata blocks of a GIF without touching its pixels or animation: comment extensions and
 * application extensions other than the looping one (XMP, ICC, Photoshop blocks, …). GIF has no EXIF, so
 * this is all the metadata it can carry. Throws {@link MalformedGif} when the block structure is broken.
 */
export function stripGifMetadata(gif: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  let at = 0;
  const need = (n: number) => {
    if (at + n > gif.length) throw new MalformedGif('the GIF ends early');
  };
  /** Length of the sub-block chain starting at `from`, its 0 terminator included. */
  const subBlocks = (from: number): number => {
    let p = from;
    for (;;) {
      if (p >= gif.length) throw new MalformedGif('the GIF ends inside a block');
      const size = gif[p]!;
      p += 1 + size;
      if (size === 0) return p - from;
    }
  };
  const colorTable = (packed: number) => (packed & 0x80 ? 3 * 2 ** ((packed & 0x07) + 1) : 0);

  need(13);
  const screenTable = colorTable(gif[10]!);
  need(13 + screenTable);
  at = 13 + screenTable;
  out.push(gif.subarray(0, at));
  for (;;) {
    need(1);
    const kind = gif[at]!;
    if (kind === 0x3b) {
      out.push(gif.subarray(at, at + 1));
      break;
    }
    if (kind === 0x2c) {
      need(11);
      const local = colorTable(gif[at + 9]!);
      need(10 + local + 1);
      const end = at + 10 + local + 1 + subBlocks(at + 10 + local + 1);
      out.push(gif.subarray(at, end));
      at = end;
    } else if (kind === 0x21) {
      need(2);
      const label = gif[at + 1]!;
      const end = at + 2 + subBlocks(at + 2);
      let keep = label === 0xf9 || label === 0x01;
      if (label === 0xff && gif[at + 2] === 11) {
        const app = String.fromCharCode(...gif.subarray(at + 3, at + 14));
        keep = KEPT_APPS.has(app);
      }
      if (keep) out.push(gif.subarray(at, end));
      at = end;
    } else {
      throw new MalformedGif(`unexpected GIF block 0x${kind.toString(16)}`);
    }
  }
  const result = new Uint8Array(out.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of out) {
    result.set(p, o);
    o += p.length;
  }
  return result;
}
