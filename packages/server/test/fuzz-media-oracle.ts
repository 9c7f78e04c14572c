// The media fuzz oracle's pure rules, from PROTOCOL.md §13.1: which statuses and error bodies the upload
// API may answer, which route a request names, what a POST /media/uploads body must give, and how a
// Range / If-Range / If-None-Match request of a stored file is answered (RFC 9110). No I/O.
import { ErrorCode, Limits } from '@synkey/protocol';

/** The status of every error code the media API answers with (§13.1 table). */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  [ErrorCode.Invalid]: 400,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.TokenExpired]: 401,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.UploadIncomplete]: 409,
  [ErrorCode.MediaTooLarge]: 413,
  [ErrorCode.UnsupportedMedia]: 415,
  [ErrorCode.RateLimited]: 429,
};
const SUCCESS = new Set([200, 201, 204, 206, 304, 416]);

/** One acceptable answer: a success status, or an error code (answered with its status). */
export type Outcome = number | string;

/** A response as the fuzzer received it. */
export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What the judge made of a response. */
export interface Judged {
  outcome: Outcome;
  /** The JSON body of a JSON response. */
  json?: Record<string, unknown>;
  problem?: string;
}

const header = (r: HttpReply, name: string): string | undefined => {
  const v = r.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/**
 * Checks a response's form — never 500, only the statuses of §13.1, every error a typed JSON
 * `{ code, message }` whose code maps to the status — and whether it is one of `allowed`.
 */
export function judgeReply(r: HttpReply, allowed: readonly Outcome[], head = false): Judged {
  if (r.status >= 500) return { outcome: r.status, problem: `HTTP ${r.status} ${r.body.toString('utf8', 0, 300)}` };
  let json: Record<string, unknown> | undefined;
  if ((header(r, 'content-type') ?? '').startsWith('application/json') && r.body.length > 0) {
    try {
      const v = JSON.parse(r.body.toString('utf8')) as unknown;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) json = v as Record<string, unknown>;
    } catch {}
  }
  const fail = (outcome: Outcome, problem: string): Judged => ({ outcome, problem, ...(json ? { json } : {}) });
  let outcome: Outcome = r.status;
  if (SUCCESS.has(r.status)) {
    if ((r.status === 204 || r.status === 304) && r.body.length > 0) return fail(outcome, `a ${r.status} with a body`);
    if (r.status === 416 && !/^bytes \*\/\d+$/.test(header(r, 'content-range') ?? ''))
      return fail(outcome, `416 without Content-Range: bytes */size (${header(r, 'content-range')})`);
  } else if (!head) {
    if (!json) return fail(outcome, `HTTP ${r.status} without a JSON object body: ${r.body.toString('utf8', 0, 200)}`);
    const { code, message } = json;
    if (typeof code !== 'string' || typeof message !== 'string' || message.length === 0)
      return fail(outcome, `HTTP ${r.status} error body is not {code, message}: ${JSON.stringify(json).slice(0, 200)}`);
    outcome = code;
    if (ERROR_STATUS[code] !== r.status) return fail(outcome, `${code} answered with HTTP ${r.status}`);
    if (code === ErrorCode.UploadIncomplete && !isIndexList(json.have))
      return fail(outcome, `409 without an ascending have list: ${JSON.stringify(json.have)}`);
    if ((code === ErrorCode.Unauthenticated || code === ErrorCode.TokenExpired) && !header(r, 'www-authenticate'))
      return fail(outcome, '401 without WWW-Authenticate');
    if (code === ErrorCode.RateLimited && json.retryMs !== undefined && !header(r, 'retry-after'))
      return fail(outcome, '429 with retryMs but no Retry-After');
  } else {
    const code = Object.entries(ERROR_STATUS).find(([c, s]) => s === r.status && allowed.includes(c))?.[0];
    if (!code) return fail(outcome, `HEAD answered ${r.status}, expected ${allowed.join('|')}`);
    outcome = code;
  }
  if (!allowed.includes(outcome))
    return fail(
      outcome,
      `answered ${outcome}${json?.message ? ` (${json.message})` : ''}, expected ${allowed.join('|')}`,
    );
  return { outcome, ...(json ? { json } : {}) };
}

/** Whether `v` is a list of chunk indexes, ascending without repeats. */
export function isIndexList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((n, i) => Number.isSafeInteger(n) && n >= 0 && (i === 0 || n > v[i - 1]));
}

// ---------------------------------------------------------------------------------------------------
// Routes

/** The route a request names (§13.1), before any state is looked at. */
export type Route =
  | { r: 'create' }
  | { r: 'upload'; id: string; action: 'status' | 'delete' | 'complete' | 'put'; index?: string }
  | { r: 'file'; id: string; variant: 'full' | 'thumb' }
  /** A route of the table asked with a method it does not take: 400, or 404 when its id is unknown. */
  | { r: 'method'; id?: string; upload: boolean }
  /** No route of the table: 404. */
  | { r: 'none' }
  /** The path leaves /media once normalised (dot segments): not the media API's to answer. */
  | { r: 'outside'; path: string };

/** The route of `method` + `rawPath` (a request-target as sent; dot segments are resolved as a URL parser does). */
export function routeOf(method: string, rawPath: string): Route {
  // Node's HTTP parser refuses a request-target with bytes outside printable ASCII before the server sees it.
  if (!/^[\x21-\x7e]*$/.test(rawPath)) return { r: 'outside', path: rawPath };
  let path: string;
  try {
    path = new URL(rawPath, 'http://x').pathname;
  } catch {
    return { r: 'outside', path: rawPath };
  }
  if (path !== '/media' && !path.startsWith('/media/')) return { r: 'outside', path };
  const parts = path.split('/').slice(2);
  if (parts[0] === 'uploads') {
    const [, id, action, ...more] = parts;
    if (id === undefined) return method === 'POST' ? { r: 'create' } : { r: 'method', upload: true };
    if (id === '' || more.length > 0) return { r: 'none' };
    if (action === undefined) {
      if (method === 'GET') return { r: 'upload', id, action: 'status' };
      if (method === 'DELETE') return { r: 'upload', id, action: 'delete' };
      return { r: 'method', id, upload: true };
    }
    if (action === 'complete')
      return method === 'POST' ? { r: 'upload', id, action: 'complete' } : { r: 'method', id, upload: true };
    return method === 'PUT' ? { r: 'upload', id, action: 'put', index: action } : { r: 'method', id, upload: true };
  }
  const [id, variant, ...more] = parts;
  if (!id || more.length > 0 || (variant !== undefined && variant !== 'thumb')) return { r: 'none' };
  if (method !== 'GET' && method !== 'HEAD') return { r: 'method', id, upload: false };
  return { r: 'file', id, variant: variant === 'thumb' ? 'thumb' : 'full' };
}

/** A chunk index segment: a canonical decimal integer (no sign, no leading zero), else undefined. */
export function chunkIndex(segment: string): number | undefined {
  if (!/^(0|[1-9]\d*)$/.test(segment)) return undefined;
  const n = Number(segment);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Bytes chunk `index` must have: `chunkSize`, the last one the rest. */
export function chunkLength(size: number, chunkSize: number, index: number): number {
  return Math.min(chunkSize, size - index * chunkSize);
}

// ---------------------------------------------------------------------------------------------------
// POST /media/uploads bodies

/** A body the server must accept (then dedupe or quota decide), with what it asks for. */
export interface ValidCreate {
  size: number;
  sha256: string;
  chunkSize: number;
  chunks: number;
  /** The display name given, if any (the stored one is its last path part, or none). */
  name?: string;
}

/** What a POST /media/uploads body must get: refused with one of `codes`, accepted as `valid`, or either. */
export interface CreateVerdict {
  codes: string[];
  valid?: ValidCreate;
}

const MAX_CHUNK = Limits.maxImageChunk;
const MIN_CHUNK = 64 * 1024;
/** A JSON body longer than this may be refused as too long (the spec sets no size; the server needs some). */
export const LONG_JSON = 4096;

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else return true;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/**
 * The rules of a POST /media/uploads body: a JSON object with `size` (a positive integer; over
 * `maxImageBytes` → MEDIA_TOO_LARGE), `sha256` (64 hex digits), optional `name` (text without control
 * characters or lone surrogates), optional `mime` (not `image/*` → UNSUPPORTED_MEDIA) and optional
 * `chunkSize` (64 KiB … 4 MiB). Where the spec leaves room (null for absent, an empty or upper-case
 * mime, a name over `maxFileName`, integers past 2^53) both readings are allowed.
 */
export function checkCreate(body: Uint8Array): CreateVerdict {
  const verdicts: CreateVerdict[] = [];
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (body.length > LONG_JSON) verdicts.push({ codes: [ErrorCode.Invalid] });
  if (text.startsWith('\ufeff')) verdicts.push(parseCreate(text.slice(1)));
  verdicts.push(parseCreate(text));
  return {
    codes: [...new Set(verdicts.flatMap((v) => v.codes))],
    ...(verdicts.find((v) => v.valid)?.valid ? { valid: verdicts.find((v) => v.valid)!.valid! } : {}),
  };
}

function parseCreate(text: string): CreateVerdict {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { codes: [ErrorCode.Invalid] };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { codes: [ErrorCode.Invalid] };
  const body = v as Record<string, unknown>;
  const own = (k: string) => (Object.hasOwn(body, k) ? body[k] : undefined);
  const must = new Set<string>();
  const may = new Set<string>();
  let lenient = false;

  const size = own('size');
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
    must.add(ErrorCode.Invalid);
    if (size === Number.POSITIVE_INFINITY) may.add(ErrorCode.MediaTooLarge);
  } else if (size > Limits.maxImageBytes) {
    must.add(ErrorCode.MediaTooLarge);
    if (!Number.isSafeInteger(size)) may.add(ErrorCode.Invalid);
  }
  const sha256 = own('sha256');
  if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) must.add(ErrorCode.Invalid);

  const mime = own('mime');
  if (mime === null || mime === '') lenient = true;
  else if (mime !== undefined) {
    if (typeof mime !== 'string') must.add(ErrorCode.Invalid);
    else if (!mime.startsWith('image/')) {
      if (/^image\//i.test(mime)) lenient = true;
      else must.add(ErrorCode.UnsupportedMedia);
    }
  }
  if (lenient) may.add(ErrorCode.UnsupportedMedia).add(ErrorCode.Invalid);

  const name = own('name');
  if (name === null) may.add(ErrorCode.Invalid);
  else if (name !== undefined) {
    if (typeof name !== 'string' || /\p{Cc}/u.test(name) || hasLoneSurrogate(name)) must.add(ErrorCode.Invalid);
    else if (name.length > Limits.maxFileName) may.add(ErrorCode.Invalid);
  }

  let chunkSize: number = Limits.imageChunk;
  const cs = own('chunkSize');
  if (cs === null) may.add(ErrorCode.Invalid);
  else if (cs !== undefined) {
    if (typeof cs !== 'number' || !Number.isInteger(cs) || cs < MIN_CHUNK || cs > MAX_CHUNK)
      must.add(ErrorCode.Invalid);
    else chunkSize = cs;
  }

  if (must.size > 0) return { codes: [...must, ...may] };
  const n = size as number;
  const valid: ValidCreate = {
    size: n,
    sha256: (sha256 as string).toLowerCase(),
    chunkSize,
    chunks: Math.ceil(n / chunkSize),
    ...(typeof name === 'string' ? { name } : {}),
  };
  return { codes: [...may], valid };
}

/** Whether a stored media's `name` is what a given display name may become: its last path part, trimmed, or none. */
export function nameFits(given: string | undefined, stored: unknown): boolean {
  if (stored === undefined || stored === null) return true;
  if (typeof stored !== 'string' || given === undefined) return false;
  return stored.length > 0 && !/[/\\]/.test(stored) && given.includes(stored);
}

// ---------------------------------------------------------------------------------------------------
// Serving: Range, If-Range, If-None-Match

/** How a GET of a stored file of `size` bytes must be answered. */
export type Serve = { status: 200 } | { status: 304 } | { status: 416 } | { status: 206; start: number; end: number };

/** Request headers that change how a stored file is served. */
export interface ServeHeaders {
  range?: string;
  ifRange?: string;
  ifNoneMatch?: string;
}

/** Whether an If-None-Match list matches `etag` (weak comparison; `*` matches any). */
export function noneMatch(header: string, etag: string): boolean {
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}

/**
 * The answers allowed for a GET/HEAD of a stored file (RFC 9110 §13–14, as §13.1 narrows it): 304 for a
 * matching If-None-Match; one `bytes=` range → 206 with exactly it, or 416 when it starts past the end
 * (a suffix of 0 included); a range list, a malformed or ignorable header, or an If-Range that is not
 * the ETag → 200. A header in a non-canonical form (other case, spaces) may be read or ignored.
 */
export function expectServe(h: ServeHeaders, size: number, etag: string): Serve[] {
  if (h.ifNoneMatch !== undefined && noneMatch(h.ifNoneMatch, etag)) return [{ status: 304 }];
  if (h.range === undefined) return [{ status: 200 }];
  if (h.ifRange !== undefined && h.ifRange.trim() !== etag) return [{ status: 200 }];
  const canonical = /^bytes=(\d*)-(\d*)$/.exec(h.range);
  if (canonical) return [single(canonical[1]!, canonical[2]!, size)];
  const loose = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(h.range);
  if (loose) return [{ status: 200 }, single(loose[1]!, loose[2]!, size)];
  return [{ status: 200 }];
}

function single(first: string, last: string, size: number): Serve {
  if (first === '' && last === '') return { status: 200 };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return { status: 416 };
    return { status: 206, start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { status: 200 };
  if (start >= size) return { status: 416 };
  return { status: 206, start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/** Checks a served response against the allowed answers and the file's bytes (when known). */
export function checkServed(
  r: HttpReply,
  allowed: Serve[],
  full: Buffer | undefined,
  head: boolean,
): string | undefined {
  const match = allowed.find(
    (a) =>
      a.status === r.status &&
      (a.status !== 206 || header(r, 'content-range') === `bytes ${a.start}-${a.end}/${full?.length ?? '*'}`),
  );
  const want = allowed.map((a) => (a.status === 206 ? `206 ${a.start}-${a.end}` : String(a.status))).join('|');
  if (!match) return `served ${r.status} ${header(r, 'content-range') ?? ''}, expected ${want}`;
  if (header(r, 'accept-ranges') !== 'bytes' && r.status !== 304) return 'no Accept-Ranges: bytes';
  if (!(header(r, 'cache-control') ?? '').includes('private')) return 'Cache-Control is not private';
  if (header(r, 'x-content-type-options') !== 'nosniff') return 'no X-Content-Type-Options: nosniff';
  if (!full || head || match.status === 304 || match.status === 416) return undefined;
  const want206 = match.status === 206 ? full.subarray(match.start, match.end + 1) : full;
  if (!r.body.equals(want206)) return `served ${r.body.length} bytes that differ from the file's ${want206.length}`;
  return undefined;
}
