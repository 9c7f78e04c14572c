import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { MediaFetch, MediaResponse } from '../src/media/http';

/** A PNG of random pixels: it hardly compresses, so it is about `width · height · 3` bytes. */
export async function noisePng(width: number, height: number): Promise<Blob> {
  const raw = randomBytes(width * height * 3);
  const png = await sharp(raw, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
  return new Blob([png], { type: 'image/png' });
}

/** A voice note the server accepts: a WebM (EBML) header followed by `size - 4` random bytes. */
export function voiceNote(size: number): Blob {
  return new Blob([new Uint8Array([0x1a, 0x45, 0xdf, 0xa3]), randomBytes(size - 4)], {
    type: 'audio/webm;codecs=opus',
  });
}

/** What {@link MediaTraffic} does with a request before it reaches the network. */
export type Fate = 'pass' | 'fail' | 'hold';

/** One media request as it went out; `status` once the server answered. */
export interface Request {
  method: string;
  path: string;
  status?: number;
}

/**
 * The real `fetch`, with a log of the media requests: how many, which, how many PUTs were in flight
 * at once. `fate` may drop a request as a network failure (`fail`) or hold it until it is aborted
 * or {@link MediaTraffic.release}d (`hold`), before it reaches the server.
 */
export class MediaTraffic {
  readonly requests: Request[] = [];
  maxPutsInFlight = 0;
  fate: (method: string, path: string, attempt: number) => Fate = () => 'pass';
  /** Rewrites the headers of a request before it goes out. */
  headers: (method: string, path: string, headers: Record<string, string>) => Record<string, string> = (_m, _p, h) => h;
  private putsInFlight = 0;
  private held: (() => void)[] = [];

  fetch: MediaFetch = async (url, init) => {
    const path = new URL(url).pathname;
    const { method } = init;
    const attempt = this.requests.filter((r) => r.method === method && r.path === path).length + 1;
    const request: Request = { method, path };
    this.requests.push(request);
    const fate = this.fate(method, path, attempt);
    if (fate === 'fail') throw new TypeError('fetch failed (dropped by the test)');
    if (fate === 'hold') {
      await new Promise<void>((resolve, reject) => {
        this.held.push(resolve);
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    }
    const put = method === 'PUT';
    if (put) this.maxPutsInFlight = Math.max(this.maxPutsInFlight, ++this.putsInFlight);
    try {
      const response = (await fetch(url, {
        ...init,
        headers: this.headers(method, path, init.headers),
      })) as MediaResponse;
      request.status = response.status;
      return response;
    } finally {
      if (put) this.putsInFlight--;
    }
  };

  /** Lets the held requests go on. */
  release(): void {
    for (const go of this.held.splice(0)) go();
  }

  /** The requests that got an answer with `status`, optionally of one method. */
  answered(status: number, method?: string): Request[] {
    return this.requests.filter((r) => r.status === status && (method === undefined || r.method === method));
  }

  /** The chunk indexes of the PUTs the server stored (204), in order. */
  storedChunks(): number[] {
    return this.answered(204, 'PUT').map((r) => Number(r.path.split('/').pop()));
  }

  /** How often a PUT of chunk `index` was attempted (including dropped ones). */
  putAttempts(index: number): number {
    return this.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/${index}`)).length;
  }
}
