/** Pixel dimensions of an image, as displayed (EXIF orientation applied). */
export interface ImageSize {
  width: number;
  height: number;
}

/** Bytes of a file read to find its dimensions: JPEG metadata comes before the frame header. */
export const HEADER_BYTES = 256 * 1024;

/**
 * The dimensions of a PNG, GIF, JPEG or WebP from the first bytes of the file, without decoding it
 * (an image may have 40 million pixels); undefined for anything else or a header cut short. A JPEG
 * whose EXIF orientation turns it by 90° reports its width and height swapped, as browsers show it.
 */
export function imageSize(bytes: Uint8Array): ImageSize | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (ascii(bytes, 1, 3) === 'PNG' && ascii(bytes, 12, 4) === 'IHDR') {
      return valid(view.getUint32(16), view.getUint32(20));
    }
    if (ascii(bytes, 0, 4) === 'GIF8') return valid(view.getUint16(6, true), view.getUint16(8, true));
    if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return webpSize(bytes, view);
    if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegSize(bytes, view);
  } catch {
    // A header cut short: a DataView read past the end throws RangeError.
  }
  return undefined;
}

/**
 * The dimensions of an image Blob: from its header, or else (a type the header reader does not
 * know) from `createImageBitmap` where it exists. Undefined when neither can tell.
 */
export async function readImageSize(file: Blob): Promise<ImageSize | undefined> {
  const size = imageSize(new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer()));
  if (size || typeof createImageBitmap !== 'function') return size;
  try {
    const bitmap = await createImageBitmap(file);
    const out = valid(bitmap.width, bitmap.height);
    bitmap.close();
    return out;
  } catch {
    return undefined;
  }
}

function valid(width: number, height: number): ImageSize | undefined {
  return width > 0 && height > 0 ? { width, height } : undefined;
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

function webpSize(bytes: Uint8Array, view: DataView): ImageSize | undefined {
  switch (ascii(bytes, 12, 4)) {
    case 'VP8 ':
      return valid(view.getUint16(26, true) & 0x3fff, view.getUint16(28, true) & 0x3fff);
    case 'VP8L': {
      const bits = view.getUint32(21, true);
      return valid((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
    }
    case 'VP8X':
      return valid(
        (view.getUint32(24, true) & 0xffffff) + 1,
        ((view.getUint16(27, true) | (view.getUint8(29) << 16)) & 0xffffff) + 1,
      );
    default:
      return undefined;
  }
}

/** SOF markers: baseline, progressive, lossless, arithmetic (not DHT C4, JPG C8, DAC CC). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpegSize(bytes: Uint8Array, view: DataView): ImageSize | undefined {
  let orientation = 1;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] as number;
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined;
    const length = view.getUint16(at + 2);
    if (marker === 0xe1 && ascii(bytes, at + 4, 6) === 'Exif\0\0') orientation = exifOrientation(view, at + 10);
    if (SOF.has(marker)) {
      const height = view.getUint16(at + 5);
      const width = view.getUint16(at + 7);
      return orientation >= 5 && orientation <= 8 ? valid(height, width) : valid(width, height);
    }
    at += 2 + length;
  }
  return undefined;
}

/** The Orientation tag (0x0112) of IFD0 of the TIFF structure at `tiff`; 1 when absent or unreadable. */
function exifOrientation(view: DataView, tiff: number): number {
  try {
    const little = view.getUint16(tiff) === 0x4949;
    const ifd = tiff + view.getUint32(tiff + 4, little);
    const count = view.getUint16(ifd, little);
    for (let i = 0; i < count; i++) {
      const entry = ifd + 2 + i * 12;
      if (view.getUint16(entry, little) === 0x0112) return view.getUint16(entry + 8, little);
    }
  } catch {
    // A truncated EXIF block: keep the default.
  }
  return 1;
}
