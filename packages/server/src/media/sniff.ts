/** Image types the server accepts, detected from the bytes. */
export type ImageMime = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif';
/** Voice containers the server accepts, detected from the bytes. */
export type AudioMime = 'audio/webm' | 'audio/ogg' | 'audio/mp4';

function startsWith(bytes: Uint8Array, magic: readonly number[], at = 0): boolean {
  if (bytes.length < at + magic.length) return false;
  return magic.every((b, i) => bytes[at + i] === b);
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The image type of `bytes` by its magic number (JPEG, PNG, WebP, GIF), or undefined for anything else. */
export function sniffImage(bytes: Uint8Array): ImageMime | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'image/webp';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'image/gif';
  return undefined;
}

/** The audio container of `bytes` (WebM/Matroska EBML, Ogg, MP4 `ftyp`), or undefined for anything else. */
export function sniffAudio(bytes: Uint8Array): AudioMime | undefined {
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) return 'audio/webm';
  if (startsWith(bytes, ascii('OggS'))) return 'audio/ogg';
  if (startsWith(bytes, ascii('ftyp'), 4)) return 'audio/mp4';
  return undefined;
}
