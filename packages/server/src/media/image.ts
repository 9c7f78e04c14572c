import { ErrorCode, Limits, ProtocolError } from '@synkey/protocol';
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { MalformedGif, stripGifMetadata } from './gif';
import { type ImageMime, sniffImage } from './sniff';

/** An uploaded image made safe to store: metadata stripped, orientation applied, with a thumbnail. */
export interface ProcessedImage {
  mime: ImageMime;
  data: Uint8Array;
  width: number;
  height: number;
  thumb: Uint8Array;
  thumbMime: string;
}

const SHARP_FORMAT: Record<ImageMime, string> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

const unsupported = (why: string) => new ProtocolError(ErrorCode.UnsupportedMedia, why);

/**
 * Checks and cleans an uploaded image. The type comes from the bytes (JPEG, PNG, WebP, GIF; else
 * UNSUPPORTED_MEDIA). The pixel count, every frame included, is read from the header before anything is
 * decoded, so a decompression bomb is refused (MEDIA_TOO_LARGE) without decoding it. JPEG, PNG and WebP
 * are re-encoded in their own format with EXIF orientation applied and no metadata kept (EXIF, GPS, XMP,
 * ICC: sharp drops what `withMetadata` would keep); animated WebP stays animated. GIF is kept byte for
 * byte except its comment and application blocks (see {@link stripGifMetadata}), because re-encoding
 * would re-quantise every frame. The thumbnail is the first frame, WebP, longer side ≤ `thumbSize`.
 */
export async function processImage(
  input: Uint8Array,
  maxPixels: number = Limits.maxImagePixels,
  thumbSize: number = Limits.thumbSize,
): Promise<ProcessedImage> {
  const mime = sniffImage(input);
  if (!mime) throw unsupported('the file is not a JPEG, PNG, WebP or GIF image');
  let meta: Metadata;
  try {
    meta = await sharp(input, { animated: true, limitInputPixels: false }).metadata();
  } catch {
    throw unsupported('the image header cannot be read');
  }
  if (meta.format !== SHARP_FORMAT[mime]) throw unsupported(`the file starts like ${mime} but is not one`);
  const pages = meta.pages ?? 1;
  const frameHeight = meta.pageHeight ?? meta.height;
  if (!meta.width || !frameHeight) throw unsupported('the image has no size');
  const pixels = meta.width * frameHeight * pages;
  if (pixels > maxPixels) {
    throw new ProtocolError(
      ErrorCode.MediaTooLarge,
      `the image has ${pixels} pixels (${meta.width}×${frameHeight}${pages > 1 ? `×${pages} frames` : ''}), over ${maxPixels}`,
    );
  }
  const options: SharpOptions = { animated: true, limitInputPixels: maxPixels, failOn: 'error' };
  try {
    let data: Uint8Array;
    let width: number;
    let height: number;
    if (mime === 'image/gif') {
      data = stripGifMetadata(input);
      width = meta.width;
      height = frameHeight;
    } else {
      let pipeline = sharp(input, options);
      if (pages === 1) pipeline = pipeline.autoOrient();
      if (mime === 'image/jpeg') pipeline = pipeline.jpeg({ quality: 90 });
      else if (mime === 'image/png') pipeline = pipeline.png();
      else pipeline = pipeline.webp({ quality: 90 });
      const out = await pipeline.toBuffer({ resolveWithObject: true });
      data = out.data;
      width = out.info.width;
      height = out.info.pageHeight ?? out.info.height;
    }
    const thumb = await sharp(data, { limitInputPixels: maxPixels, failOn: 'error' })
      .resize(thumbSize, thumbSize, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer();
    return { mime, data, width, height, thumb, thumbMime: 'image/webp' };
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    if (e instanceof MalformedGif) throw unsupported(e.message);
    throw unsupported(`the image cannot be decoded (${(e as Error).message})`);
  }
}
