import type { MediaQuota } from '../store/types';

/** Media settings of the server. Every field but `dir` has a default ({@link MEDIA_DEFAULTS}). */
export interface MediaOptions {
  /** Directory of stored files, chunks and temp files. */
  dir: string;
  /** Unfinished uploads (image or voice) idle this long are deleted. Default 24 h. */
  staleUploadMs: number;
  /**
   * Finished media that no message references (uploaded, never sent) are deleted this long after they were
   * made, files and all. It must outlive a client that uploads, stays offline for days, then sends: a SEND
   * naming deleted media is refused (NOT_FOUND). Default 7 days.
   */
  unsentRetentionMs: number;
  /** How often the sweeper deletes stale uploads and unsent media. Default 10 min (at most `staleUploadMs`). */
  sweepMs: number;
  /** Requests per user to the HTTP media routes: `perSecond` refill, `burst` bucket. Default 50/s, burst 200. */
  rateLimit: { perSecond: number; burst: number };
  /** Per-user limits that keep one user from filling the disk. */
  quota: MediaQuota;
  /** Most parts a voice note may have (part indexes 0…maxVoiceParts-1). Default 1024. */
  maxVoiceParts: number;
  /** Images checked and re-encoded at once (each may decode up to `Limits.maxImagePixels`). Default 2. */
  imageJobs: number;
  /** `Cache-Control: private, max-age` of served media, in seconds. Default 7 days (files never change). */
  cacheMaxAgeS: number;
}

/** Defaults of {@link MediaOptions}. */
export const MEDIA_DEFAULTS: Omit<MediaOptions, 'dir'> = {
  staleUploadMs: 24 * 3600_000,
  unsentRetentionMs: 7 * 24 * 3600_000,
  sweepMs: 10 * 60_000,
  rateLimit: { perSecond: 50, burst: 200 },
  quota: {
    maxOpenUploads: 8,
    maxOpenBytes: 100 * 1024 * 1024,
    maxBytesPerDay: 1024 * 1024 * 1024,
    maxOpenVoice: 8,
  },
  maxVoiceParts: 1024,
  imageJobs: 2,
  cacheMaxAgeS: 7 * 24 * 3600,
};

/**
 * `unsentRetentionMs` from the value of `SYNKEY_MEDIA_RETENTION_HOURS` (a positive number of hours), or
 * undefined when it is unset or empty. Throws a message naming the variable for anything else.
 */
export function retentionFromEnv(hours: string | undefined): number | undefined {
  if (hours === undefined || hours.trim() === '') return undefined;
  const n = Number(hours);
  if (!Number.isFinite(n) || n <= 0 || n * 3600_000 > Number.MAX_SAFE_INTEGER) {
    throw new Error(`SYNKEY_MEDIA_RETENTION_HOURS must be a positive number of hours, not ${JSON.stringify(hours)}`);
  }
  return Math.max(1, Math.round(n * 3600_000));
}
