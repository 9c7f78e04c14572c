// One media fuzz worker: a fuzz user of its own (rotated now and then), its model of what the server
// holds for it, and the pipeline every input goes through — route, expectation from the model, send,
// judge (form, status, code, served bytes), update the model. Scenarios (fuzz-media-scenarios.ts) only
// choose what to send.
import { createHash } from 'node:crypto';
import {
  ConvKind,
  concatFrames,
  ErrorCode,
  encodeBatch,
  type FrameLimits,
  frame,
  type Media,
  Op,
  opName,
} from '@synkey/protocol';
import sharp from 'sharp';
import { mintToken } from '../src/auth';
import { type Rng, rawFrame } from './fuzz-corpus';
import type { AuthCase, Tokens } from './fuzz-media-corpus';
import type { RawHttp, RawRequest, RawResult } from './fuzz-media-http';
import type { ImageClass, PoolImage } from './fuzz-media-images';
import { MediaLink, postLink, voiceInput } from './fuzz-media-link';
import {
  checkImageMedia,
  type ModelMedia,
  type ModelUpload,
  type PartReq,
  sniffImage,
  UserModel,
  type World,
} from './fuzz-media-model';
import {
  checkCreate,
  checkServed,
  expectServe,
  type HttpReply,
  judgeReply,
  nameFits,
  type Outcome,
  type Route,
  routeOf,
  type Serve,
  type ValidCreate,
} from './fuzz-media-oracle';
import { type Got, judgeLong, judgeShort, safeDecode } from './fuzz-oracle';
import { GPS_MARKER } from './media-client';

/** The longest any answer may take before the server counts as hung (a complete waits for image jobs). */
export const DEADLINE_MS = 15_000;
export const COMPLETE_DEADLINE_MS = 45_000;
const SENTINEL_BASE = 0xfff0_0000;
const LIMITS: FrameLimits = { maxFrame: 256 * 1024, maxFrames: 256 };
const MAX_PAYLOAD = LIMITS.maxFrame * 4;
const EMPTY = Buffer.alloc(0);

/**
 * What an input is: `mutated` (random, damaged or hostile: bad bodies, paths, tokens, ranges, ids,
 * hung-up bodies, races, damaged or bomb files, mutated frames), `valid` (a well-formed step of an
 * upload or voice note) or `check` (a read the fuzzer makes to verify the server's state).
 */
export type Role = 'mutated' | 'valid' | 'check';

const VALID_KINDS = new Set([
  'create upload',
  'PUT chunk',
  'PUT chunk again',
  'PUT last chunk',
  'PUT the missing chunk',
  'complete',
  'complete again',
  'complete, a chunk missing',
  'complete before any chunk',
  'upload status',
  'cancel',
  'cancel a finished upload',
]);
const CHECK_KINDS = new Set([
  'verify stored file',
  'verify thumbnail',
  'verify voice thumb is 404',
  'status after a race',
  'status after a hung-up PUT',
  'status after DELETE raced complete',
  'status of a cancelled upload',
  'status of a dropped upload',
  'its media stays',
  'peer reads sent media',
]);

/** Counts of what the workers sent and got. */
export interface MediaStats {
  /** Inputs sent (`mutated` + `valid`); checks are apart. */
  inputs: number;
  mutated: number;
  checks: number;
  byKind: Record<string, number>;
  statuses: Record<string, number>;
  codes: Record<string, number>;
  /** `class → outcome` of every complete of an upload that held all its chunks. */
  completes: Record<string, number>;
  served: Record<string, number>;
  hungUp: number;
  races: number;
  identities: number;
  stored: { images: number; voice: number; deduped: number };
  voice: {
    parts: number;
    frames: number;
    acks: number;
    refusals: Record<string, number>;
    fatal: Record<string, number>;
  };
  sends: Record<string, number>;
  tolerated: Record<string, number>;
}

/** What a worker needs from the run. */
export interface WorkerDeps {
  url: string;
  wsUrl: string;
  secret: string;
  http: RawHttp;
  world: World;
  images: { base: PoolImage[]; bombs: PoolImage[]; nonImages: PoolImage[] };
  stats: MediaStats;
  violation: (v: string) => void;
  /** Whether to go on (the budget of mutated inputs is not spent and the run is not stopping). */
  more: () => boolean;
}

/** The bytes a worker means to upload, and what complete may make of them. */
export interface Intent {
  file: Buffer;
  cls: ImageClass;
}

/** How one request is sent. */
export interface CallOptions {
  viewer?: 'self' | 'peer';
  auth?: AuthCase;
  intent?: Intent;
  note?: string;
  /** What the input is, when its kind does not say (a step of an upload of a damaged file is `mutated`). */
  role?: Role;
}

/** What a request got (outcome undefined: no usable answer). */
export interface Sent {
  outcome?: Outcome;
  json?: Record<string, unknown>;
  reply?: HttpReply;
  problem?: string;
}

interface Expectation {
  allowed: Outcome[];
  serve?: { allowed: Serve[]; full: Buffer; head: boolean };
  outside?: boolean;
  apply?: (s: Sent) => string | undefined;
}

/** Adds `n` to counter `k` of `m`. */
export const bump = (m: Record<string, number>, k: string | number, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** See the file comment. */
export class MediaWorker {
  model!: UserModel;
  tokens!: Tokens;
  peerToken = '';
  /** Voice upload names the mutated frames aim at (so that their parts meet). */
  readonly mutantNames = ['m0', 'm1', 'm2', 'm3', 'm4'];
  private mutantToken = '';
  private link: MediaLink | null = null;
  private mutantLink: MediaLink | null = null;
  private generation = 0;
  private seqN = 0;
  private sentinels = 0;
  private inputsHere = Number.POSITIVE_INFINITY;
  private readonly unverified: { m: ModelMedia; source?: Buffer; cls?: ImageClass }[] = [];

  constructor(
    readonly index: number,
    readonly rng: Rng,
    readonly d: WorkerDeps,
  ) {}

  get world(): World {
    return this.d.world;
  }

  /** Inputs sent as the current user: the run rotates users past a few hundred. */
  get age(): number {
    return this.inputsHere;
  }

  nextSeq(): number {
    this.seqN = this.seqN >= SENTINEL_BASE - 1 ? 1 : this.seqN + 1;
    return this.seqN;
  }

  count(
    kind: string,
    n = 1,
    role: Role = CHECK_KINDS.has(kind) ? 'check' : VALID_KINDS.has(kind) ? 'valid' : 'mutated',
  ): void {
    const s = this.d.stats;
    if (role === 'check') s.checks += n;
    else {
      s.inputs += n;
      if (role === 'mutated') s.mutated += n;
    }
    this.inputsHere += n;
    bump(s.byKind, kind, n);
  }

  // ---- identities

  /** A fresh fuzz user with a conversation with its peer, a long link, and tokens the server must refuse. */
  async newIdentity(): Promise<void> {
    this.close();
    const user = `fm${this.index}.${++this.generation}`;
    const peer = `${user}-p`;
    const { secret } = this.d;
    const good = await mintToken(secret, user);
    const now = Math.floor(Date.now() / 1000);
    this.tokens = {
      good,
      expired: await mintToken(secret, user, { ttlSeconds: -60 }),
      otherSecret: await mintToken('another-secret-0123456789abcdef', user),
      longSubject: await mintToken(secret, 'u'.repeat(65)),
      noneAlg: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: user, exp: now + 3600 })}.`,
    };
    this.peerToken = await mintToken(secret, peer);
    this.mutantToken = await mintToken(secret, `${user}-m`);
    const r = await postLink(
      this.d.url,
      concatFrames([
        frame(Op.AUTH, 1, { token: good, device: `${user}-setup` }),
        frame(Op.CONV_CREATE, 2, { kind: ConvKind.Direct, members: [peer] }),
      ]),
      DEADLINE_MS,
    );
    const conv = r.frames[1]?.body.conv as { id: number } | undefined;
    if (r.status !== 200 || !conv) throw new Error(`setup of ${user} answered ${r.status}`);
    this.model = new UserModel(user, peer, conv.id);
    this.world.models[this.index] = this.model;
    this.inputsHere = 0;
    this.d.stats.identities++;
  }

  close(): void {
    this.link?.shut();
    this.mutantLink?.shut();
    this.link = null;
    this.mutantLink = null;
  }

  /** Reports a violation; the model may now be wrong, so the worker moves on to a fresh user. */
  fail(v: string): void {
    this.d.violation(v);
    this.inputsHere = Number.POSITIVE_INFINITY;
  }

  // ---- HTTP

  /** The default headers of a request by the current user (or its peer). */
  auth(viewer: 'self' | 'peer' = 'self'): Record<string, string> {
    return { authorization: `Bearer ${viewer === 'peer' ? this.peerToken : this.tokens.good}` };
  }

  /**
   * Sends `req` and judges the answer against `allowed` (any status below 500 for `outside`): its form,
   * status and code. A timeout is a hang; a reset is tolerated only where the server may refuse a body
   * it has not read.
   */
  async exchange(kind: string, req: RawRequest, allowed: Outcome[] | 'outside', note = '', role?: Role): Promise<Sent> {
    this.count(kind, 1, role);
    const complete = req.path.endsWith('/complete') && req.method === 'POST';
    const res: RawResult = await this.d.http.send(req, complete ? COMPLETE_DEADLINE_MS : DEADLINE_MS);
    const what = () => `${kind} ${note}: ${describe(req)}`;
    if (res.kind === 'timeout') {
      this.fail(`no response within ${complete ? COMPLETE_DEADLINE_MS : DEADLINE_MS} ms — ${what()}`);
      return {};
    }
    if (res.kind === 'reset') {
      // Node's HTTP parser refuses an 'outside' request-target before the server reads anything.
      const refusalOnly = allowed === 'outside' || allowed.every((o) => typeof o === 'string');
      if (refusalOnly && (req.body?.length ?? 0) > 0)
        bump(this.d.stats.tolerated, 'connection reset while a refused body was still being sent');
      else this.fail(`connection reset (${res.message}) — ${what()}`);
      return {};
    }
    let reply: HttpReply;
    let outcomes = allowed;
    if (res.kind === 'hung-up') {
      this.d.stats.hungUp++;
      if (!res.response) return {};
      reply = res.response;
      // The body never arrived whole: only a refusal may come back.
      if (outcomes !== 'outside') outcomes = outcomes.filter((o) => typeof o === 'string');
    } else reply = res;
    bump(this.d.stats.statuses, reply.status);
    if (outcomes === 'outside') {
      if (reply.status >= 500) this.fail(`HTTP ${reply.status} — ${what()}`);
      return { outcome: reply.status, reply };
    }
    const j = judgeReply(reply, outcomes, req.method === 'HEAD');
    if (typeof j.outcome === 'string') bump(this.d.stats.codes, j.outcome);
    if (j.problem) {
      this.fail(`${j.problem} — ${what()}`);
      return { problem: j.problem, reply };
    }
    return { outcome: j.outcome, ...(j.json ? { json: j.json } : {}), reply };
  }

  /** Sends `req` with what the model says it must get, and updates the model from the answer. */
  async call(kind: string, req: RawRequest, o: CallOptions = {}): Promise<Sent> {
    const viewer = o.viewer ?? 'self';
    if (req.headers.authorization === undefined && o.auth === undefined) Object.assign(req.headers, this.auth(viewer));
    const route =
      req.method === 'OPTIONS' ? ({ r: 'outside', path: req.path } as const) : routeOf(req.method, req.path);
    let exp: Expectation;
    if (route.r === 'outside') exp = { allowed: [], outside: true };
    else if ((o.auth ?? 'valid') !== 'valid')
      exp = { allowed: [o.auth === 'expired' ? ErrorCode.TokenExpired : ErrorCode.Unauthenticated] };
    else exp = this.expect(route, req, viewer === 'peer' ? this.model.peer : this.model.user, o.intent);
    const s = await this.exchange(kind, req, exp.outside ? 'outside' : exp.allowed, o.note ?? '', o.role);
    if (s.outcome === undefined || s.problem) return s;
    if (exp.serve && s.reply) {
      const p = checkServed(s.reply, exp.serve.allowed, exp.serve.full, exp.serve.head);
      bump(this.d.stats.served, s.reply.status);
      if (p) {
        this.fail(`${p} — ${kind}: ${describe(req)}`);
        return { ...s, problem: p };
      }
    }
    const p = exp.apply?.(s);
    if (p) {
      this.fail(`${p} — ${kind} ${o.note ?? ''}: ${describe(req)}`);
      return { ...s, problem: p };
    }
    await this.verifyNew();
    return s;
  }

  private expect(
    route: Exclude<Route, { r: 'outside' }>,
    req: RawRequest,
    viewer: string,
    intent?: Intent,
  ): Expectation {
    const m = this.model;
    const body = Buffer.from(req.body ?? EMPTY);
    const aborted = req.abortAfter !== undefined;
    const declared = typeof req.framing === 'object' ? req.framing.declare : body.length;
    const own = (id: string) => {
      const u = m.uploads.get(id);
      return u && u.state !== 'gone' ? u : undefined;
    };
    switch (route.r) {
      case 'none':
        return { allowed: [ErrorCode.NotFound] };
      case 'method': {
        const known = route.upload
          ? route.id === undefined || own(route.id) !== undefined
          : route.id !== undefined && m.readable(route.id, viewer) !== undefined;
        return { allowed: known ? [ErrorCode.Invalid] : [ErrorCode.Invalid, ErrorCode.NotFound] };
      }
      case 'create': {
        if (aborted) return { allowed: [ErrorCode.Invalid] };
        const v = checkCreate(body);
        return {
          allowed: [...v.codes, ...(v.valid ? m.createOutcomes(v.valid) : [])],
          apply: (s) => this.created(s, v.valid, intent),
        };
      }
      case 'upload': {
        const u = own(route.id);
        if (route.action === 'status')
          return u ? { allowed: [200], apply: (s) => this.checkStatus(u, s.json) } : { allowed: [ErrorCode.NotFound] };
        if (route.action === 'delete')
          return u
            ? {
                allowed: [204],
                apply: () => {
                  u.state = 'gone';
                  return undefined;
                },
              }
            : { allowed: [ErrorCode.NotFound] };
        if (route.action === 'complete')
          return { allowed: m.completeOutcomes(u), ...(u ? { apply: (s) => this.completed(u, s) } : {}) };
        const allowed = m.putOutcomes(u, route.index!, aborted ? declared : body.length);
        return {
          allowed,
          apply: (s) => {
            if (s.outcome === 204 && u) m.put(u, route.index!, body);
            return undefined;
          },
        };
      }
      case 'file': {
        const media = m.readable(route.id, viewer);
        if (!media || (route.variant === 'thumb' && media.kind === 'voice')) return { allowed: [ErrorCode.NotFound] };
        const full = route.variant === 'thumb' ? media.thumb : media.full;
        const etag = route.variant === 'thumb' ? media.thumbEtag : media.etag;
        if (!full || !etag) return { allowed: [200, 206, 304, 416] };
        const serve = expectServe(
          { range: req.headers.range, ifRange: req.headers['if-range'], ifNoneMatch: req.headers['if-none-match'] },
          full.length,
          etag,
        );
        return {
          allowed: [...new Set(serve.map((x) => x.status))],
          serve: { allowed: serve, full, head: req.method === 'HEAD' },
        };
      }
    }
  }

  private created(s: Sent, v: ValidCreate | undefined, intent: Intent | undefined): string | undefined {
    if (!v || (s.outcome !== 200 && s.outcome !== 201)) return undefined;
    const j = s.json ?? {};
    if (s.outcome === 201) {
      const id = j.upload;
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) return `201 with upload ${JSON.stringify(id)}`;
      if (j.chunkSize !== v.chunkSize || j.chunks !== v.chunks || JSON.stringify(j.have) !== '[]')
        return `201 ${JSON.stringify(j)} for chunkSize ${v.chunkSize}, ${v.chunks} chunks`;
      if (this.model.uploads.has(id)) return `201 with the id of an upload already open: ${id}`;
      const file = intent?.file ?? EMPTY;
      const honest = file.length === v.size && sha(file) === v.sha256;
      this.model.opened(id, v, file, intent?.cls ?? 'not-image', honest);
      this.world.addForeign(this.model.user, id);
      return undefined;
    }
    const media = j.media as Media | undefined;
    const stored = this.world.stored.get(`${v.sha256}:${v.size}`);
    const problem =
      checkImageMedia(media, undefined) ??
      (stored &&
      (media!.mime !== stored.mime ||
        media!.size !== stored.size ||
        media!.width !== stored.width ||
        media!.height !== stored.height)
        ? `dedupe answered ${JSON.stringify(media)}, but the stored file is ${JSON.stringify(stored)}`
        : undefined) ??
      (nameFits(v.name, media!.name)
        ? undefined
        : `name ${JSON.stringify(media!.name)} for ${JSON.stringify(v.name)}`) ??
      (this.model.media.has(media!.id) ? `dedupe answered an existing media id ${media!.id}` : undefined);
    if (problem) return problem;
    this.d.stats.stored.deduped++;
    this.adopt(media!, 'image', intent?.file, intent?.cls);
    return undefined;
  }

  /** Takes a new media record of this user into the model; its bytes are fetched next. */
  private adopt(media: Media, kind: 'image' | 'voice', source?: Buffer, cls?: ImageClass): ModelMedia {
    const m: ModelMedia = { id: media.id, media, kind, sentTo: new Set() };
    this.model.media.set(media.id, m);
    this.world.addForeign(this.model.user, media.id);
    this.unverified.push({ m, ...(source ? { source } : {}), ...(cls ? { cls } : {}) });
    return m;
  }

  private checkStatus(u: ModelUpload, j: Record<string, unknown> | undefined): string | undefined {
    const have = u.state === 'done' ? Array.from({ length: u.chunks }, (_, i) => i) : this.model.have(u);
    if (!j || j.upload !== u.id || j.chunkSize !== u.chunkSize || j.chunks !== u.chunks)
      return `status ${JSON.stringify(j)} of upload ${u.id} (${u.chunks} chunks of ${u.chunkSize})`;
    if (JSON.stringify(j.have) !== JSON.stringify(have))
      return `status has ${JSON.stringify(j.have)}, expected ${JSON.stringify(have)}`;
    const media = j.media as Media | undefined;
    if (u.state === 'done' ? media?.id !== u.media?.id : media !== undefined)
      return `status media ${JSON.stringify(media)} for an upload ${u.state === 'done' ? `done as ${u.media?.id}` : 'not complete'}`;
    return undefined;
  }

  private completed(u: ModelUpload, s: Sent): string | undefined {
    const o = s.outcome;
    if (u.state === 'open' && u.held.size === u.chunks) bump(this.d.stats.completes, `${u.cls} → ${o}`);
    if (o === ErrorCode.UploadIncomplete) {
      const want = this.model.have(u);
      return JSON.stringify(s.json?.have) === JSON.stringify(want)
        ? undefined
        : `409 have ${JSON.stringify(s.json?.have)}, expected ${JSON.stringify(want)}`;
    }
    if (o === ErrorCode.Invalid || o === ErrorCode.MediaTooLarge || o === ErrorCode.UnsupportedMedia) {
      u.state = 'gone';
      return undefined;
    }
    if (o !== 200) return undefined;
    return this.finished(u, s.json?.media as Media | undefined);
  }

  /** Takes the media a complete answered (or a status after a race shows) as `u`'s. */
  finished(u: ModelUpload, media: Media | undefined): string | undefined {
    if (u.state === 'done')
      return media?.id === u.media?.id ? undefined : `complete again answered ${media?.id}, first ${u.media?.id}`;
    const problem =
      checkImageMedia(media, u.file) ??
      (this.model.completeOutcomes(u, true).includes(200)
        ? undefined
        : `an upload of class ${u.cls} (honest ${u.honest}) was stored`) ??
      (nameFits(u.name, media!.name) ? undefined : `name ${JSON.stringify(media!.name)} for ${JSON.stringify(u.name)}`);
    if (problem) return problem;
    u.state = 'done';
    const key = `${u.sha256}:${u.size}`;
    if (!this.world.stored.has(key)) this.world.stored.set(key, media!);
    this.model.stored.add(key);
    this.d.stats.stored.images++;
    u.media = this.adopt(media!, 'image', u.file, u.cls);
    return undefined;
  }

  /** Fetches the files of media taken into the model since the last call. */
  async verifyNew(): Promise<void> {
    while (this.unverified.length > 0) {
      const v = this.unverified.shift()!;
      await this.verifyMedia(v.m, v.source, v.cls);
    }
  }

  /**
   * Fetches a new media's file and thumbnail: the type it was stored as, the size it says, a strong
   * ETag; an image's bytes are of its type and carry no source metadata, its thumbnail is WebP within
   * `thumbSize`; a voice note's bytes are its parts joined, and it has no thumbnail.
   */
  async verifyMedia(m: ModelMedia, source?: Buffer, cls?: ImageClass): Promise<void> {
    const file = await this.exchange(
      'verify stored file',
      { method: 'GET', path: `/media/${m.id}`, headers: this.auth() },
      [200],
    );
    if (!file.reply || file.outcome !== 200) return;
    const body = file.reply.body;
    const etag = String(file.reply.headers.etag ?? '');
    const type = String(file.reply.headers['content-type'] ?? '');
    const problem =
      type !== m.media.mime
        ? `served as ${type}, stored as ${m.media.mime}`
        : body.length !== m.media.size
          ? `served ${body.length} bytes, the media says ${m.media.size}`
          : !/^"[^"]+"$/.test(etag)
            ? `ETag ${etag} is not strong`
            : m.kind === 'image' && sniffImage(body) !== m.media.mime
              ? `the stored bytes are not ${m.media.mime}`
              : m.kind === 'voice' && m.full && !body.equals(m.full)
                ? 'the stored voice note differs from its parts joined'
                : cls === 'valid' && (body.includes(GPS_MARKER) || body.includes('fuzz metadata'))
                  ? 'the stored image kept its metadata'
                  : undefined;
    if (problem) {
      this.fail(`media ${m.id} (${source ? `from ${source.length} bytes` : 'deduped'}): ${problem}`);
      return;
    }
    m.full = body;
    m.etag = etag;
    if (this.world.samples.length < 200)
      this.world.samples.push({ owner: this.model.user, id: m.id, sha256: sha(body) });
    if (m.kind === 'voice') {
      await this.call('verify voice thumb is 404', { method: 'GET', path: `/media/${m.id}/thumb`, headers: {} });
      return;
    }
    const thumb = await this.exchange(
      'verify thumbnail',
      { method: 'GET', path: `/media/${m.id}/thumb`, headers: this.auth() },
      [200],
    );
    if (!thumb.reply || thumb.outcome !== 200) return;
    const meta = await sharp(thumb.reply.body)
      .metadata()
      .catch(() => undefined);
    if (thumb.reply.headers['content-type'] !== 'image/webp' || meta?.format !== 'webp')
      this.fail(`media ${m.id}: thumbnail ${thumb.reply.headers['content-type']} (${meta?.format ?? 'unreadable'})`);
    else if (Math.max(meta.width ?? 0, meta.pageHeight ?? meta.height ?? 0) > 480)
      this.fail(`media ${m.id}: thumbnail ${meta.width}x${meta.height} is over thumbSize`);
    else {
      m.thumb = thumb.reply.body;
      m.thumbEtag = String(thumb.reply.headers.etag ?? '');
    }
  }

  /** Reads an upload's state from the server after requests raced on it (the model could not know it). */
  async resync(u: ModelUpload): Promise<void> {
    const s = await this.exchange(
      'status after a race',
      { method: 'GET', path: `/media/uploads/${u.id}`, headers: this.auth() },
      [200, ErrorCode.NotFound],
    );
    if (s.outcome === ErrorCode.NotFound) u.state = 'gone';
    else if (s.outcome === 200 && s.json) {
      const media = s.json.media as Media | undefined;
      if (media) {
        const p = this.finished(u, media);
        if (p) this.fail(`upload ${u.id} after a race: ${p}`);
      } else if (Array.isArray(s.json.have)) {
        if (u.state === 'done') this.fail(`upload ${u.id} completed as ${u.media?.id}, but its status has no media`);
        for (const i of s.json.have as number[]) if (!u.held.has(i)) u.held.set(i, true);
        for (const i of [...u.held.keys()]) if (!(s.json.have as number[]).includes(i)) u.held.delete(i);
      }
    }
    await this.verifyNew();
  }

  // ---- links

  private async ensureLink(): Promise<MediaLink | null> {
    if (this.link?.open) return this.link;
    this.link?.shut();
    try {
      this.link = await MediaLink.open(this.d.wsUrl, this.tokens.good, `${this.model.user}-dev`, DEADLINE_MS);
    } catch (e) {
      this.fail(`long link: cannot open: ${(e as Error).message}`);
      this.link = null;
    }
    return this.link;
  }

  /** Sends requests over the long link or the short link; the reply to each, or undefined with a violation. */
  private async requests(
    kind: string,
    frames: Uint8Array[],
    seqs: number[],
    via: 'long' | 'short',
  ): Promise<(Got | undefined)[] | undefined> {
    const what = () => `${kind} over the ${via} link (seqs ${seqs.join(',')})`;
    if (via === 'long') {
      const link = await this.ensureLink();
      if (!link) return undefined;
      const bytes = frames.length > 1 && this.rng.chance(0.5) ? encodeBatch(frames) : concatFrames(frames);
      const replies = await link.exchange(bytes, seqs, DEADLINE_MS);
      for (const p of link.problems.splice(0)) this.fail(`long link: ${p}`);
      if (link.close) {
        this.fail(`long link closed (${link.close.code} ${link.close.reason}) after ${what()}`);
        return undefined;
      }
      const got = seqs.map((s) => replies.find((g) => g.seq === s));
      if (got.some((g) => !g)) {
        this.fail(`no reply within ${DEADLINE_MS} ms to ${what()}`);
        return undefined;
      }
      return got;
    }
    let r: { status: number; frames: Got[] };
    try {
      r = await postLink(
        this.d.url,
        concatFrames([frame(Op.AUTH, 0, { token: this.tokens.good, device: `${this.model.user}-short` }), ...frames]),
        DEADLINE_MS,
      );
    } catch (e) {
      this.fail(`short link: ${(e as Error).message} — ${what()}`);
      return undefined;
    }
    if (r.status !== 200 || r.frames[0]?.op !== Op.AUTH_OK) {
      this.fail(`short link answered ${r.status} ${r.frames.map((g) => opName(g.op)).join(',')} to ${what()}`);
      return undefined;
    }
    return seqs.map((s) => r.frames.find((g) => g.seq === s));
  }

  /** Sends voice parts (in one message or POST) and judges each PART_ACK or refusal against the model. */
  async parts(parts: PartReq[], via: 'long' | 'short'): Promise<void> {
    const seqs = parts.map(() => this.nextSeq());
    const frames = parts.map((p, i) =>
      frame(Op.VOICE_PART, seqs[i]!, {
        upload: p.upload,
        index: p.index,
        data: p.data,
        ...(p.last ? { last: true } : {}),
        ...(p.mime === undefined ? {} : { mime: p.mime }),
        ...(p.durationMs === undefined ? {} : { durationMs: p.durationMs }),
      }),
    );
    const bad = parts.filter((p) => this.model.partOutcomes(p).some((o) => o !== 'ack' && o !== 'media')).length;
    if (bad > 0) this.count(`voice part refused (${via} link)`, bad, 'mutated');
    if (parts.length > bad) this.count(`voice part (${via} link)`, parts.length - bad, 'valid');
    this.d.stats.voice.parts += parts.length;
    const got = await this.requests('voice parts', frames, seqs, via);
    if (!got) return;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const g = got[i];
      const allowed = this.model.partOutcomes(p);
      const what = `part ${p.index}${p.last ? ' (last)' : ''} of ${JSON.stringify(p.upload.slice(0, 70))} (${p.data.length} bytes) over the ${via} link`;
      let outcome: Outcome;
      const media = g?.body.media as Media | undefined;
      if (g?.op === Op.PART_ACK) {
        if (g.body.upload !== p.upload || g.body.index !== p.index) {
          this.fail(`PART_ACK echoes ${JSON.stringify(g.body.upload)}#${g.body.index} for ${what}`);
          return;
        }
        outcome = media ? 'media' : 'ack';
        this.d.stats.voice.acks++;
      } else if (g?.op === Op.ERROR && g.body.fatal !== true) {
        outcome = g.body.code as string;
        bump(this.d.stats.voice.refusals, outcome);
      } else {
        this.fail(`${what} answered ${g ? `${opName(g.op)} ${JSON.stringify(g.body)}` : 'nothing'}`);
        return;
      }
      if (!allowed.includes(outcome)) {
        this.fail(
          `${what} answered ${outcome}${g.body.message ? ` (${g.body.message})` : ''}, expected ${allowed.join('|')}`,
        );
        return;
      }
      const before = this.model.voice.get(p.upload)?.state;
      const problem = this.model.part(p, outcome, media);
      if (problem) {
        this.fail(`${what}: ${problem}`);
        return;
      }
      if (outcome === 'media' && before !== 'done') {
        this.d.stats.stored.voice++;
        this.world.addForeign(this.model.user, media!.id);
        if (this.rng.chance(0.5)) await this.verifyMedia(this.model.media.get(media!.id)!);
      }
    }
  }

  /** Sends a message of `kind` naming `media` in this user's conversation and judges the answer. */
  async sendMessage(kind: number, media: string | undefined, via: 'long' | 'short'): Promise<boolean> {
    const seq = this.nextSeq();
    const cmid = `c${this.rng.u32().toString(36)}${this.rng.u32().toString(36)}`;
    const body = {
      cmid,
      conv: this.model.conv,
      kind,
      ...(kind === 1 || this.rng.chance(0.3) ? { text: kind === 1 ? 'hello' : 'a caption' } : {}),
      ...(media === undefined ? {} : { media }),
    };
    this.count('SEND with media', 1);
    const allowed = this.model.sendOutcomes(kind, media);
    const [g] = (await this.requests('SEND', [frame(Op.SEND, seq, body)], [seq], via)) ?? [];
    if (!g) return false;
    const outcome =
      g.op === Op.SEND_ACK && g.body.cmid === cmid
        ? 'ack'
        : g.op === Op.ERROR && !g.body.fatal
          ? (g.body.code as string)
          : undefined;
    bump(this.d.stats.sends, outcome ?? 'bad reply');
    if (outcome === undefined || !allowed.includes(outcome)) {
      this.fail(
        `SEND kind ${kind} media ${JSON.stringify(media)} answered ${opName(g.op)} ${JSON.stringify(g.body)}, expected ${allowed.join('|')}`,
      );
      return false;
    }
    if (outcome === 'ack' && media !== undefined) this.model.media.get(media)?.sentTo.add(this.model.conv);
    return outcome === 'ack';
  }

  /** One message of mutated VOICE_PART frames, judged by the frame oracle on the long or the short link. */
  async mutant(via: 'long' | 'short'): Promise<void> {
    const input = voiceInput(this.rng, this.mutantNames, () => this.nextSeq());
    this.count(`mutated VOICE_PART (${via} link)`);
    this.d.stats.voice.frames += input.frames;
    const octx = { token: this.mutantToken, limits: LIMITS, maxPayload: MAX_PAYLOAD };
    const describeInput = () =>
      `[${input.notes.join(', ') || 'valid'}] ${Buffer.from(input.bytes.subarray(0, 80)).toString('hex')}`;
    let v: ReturnType<typeof judgeLong>;
    let replies: Got[];
    if (via === 'long') {
      if (!this.mutantLink?.open) {
        this.mutantLink?.shut();
        try {
          this.mutantLink = await MediaLink.open(this.d.wsUrl, this.mutantToken, `${this.model.user}-m`, DEADLINE_MS);
        } catch (e) {
          this.fail(`long link (mutant): cannot open: ${(e as Error).message}`);
          return;
        }
      }
      const link = this.mutantLink;
      this.sentinels = (this.sentinels + 1) % 0xfffff;
      const sentinel = SENTINEL_BASE + this.sentinels;
      link.replies = [];
      link.ws.send(input.bytes);
      link.ws.send(rawFrame(Op.PING, sentinel, new Uint8Array(0)));
      if (!(await link.until(() => link.replies.some((g) => g.seq === sentinel), DEADLINE_MS))) {
        this.fail(`long link: no answer within ${DEADLINE_MS} ms to mutated VOICE_PART ${describeInput()}`);
        link.shut();
        this.mutantLink = null;
        return;
      }
      for (const p of link.problems.splice(0)) this.fail(`long link: ${p}`);
      replies = link.replies;
      v = judgeLong(input, true, octx, {
        replies,
        sentinel,
        ...(link.close ? { close: { ...link.close, afterError: true } } : {}),
      });
      if (link.close) {
        bump(this.d.stats.voice.fatal, `${v.fatal ?? 'close'} ${link.close.code}`);
        this.mutantLink = null;
      }
    } else {
      const body = concatFrames([
        frame(Op.AUTH, this.nextSeq(), { token: this.mutantToken, device: `${this.model.user}-ms` }),
        input.bytes,
      ]);
      if (this.rng.chance(0.08)) {
        // The client hangs up in the middle of the body: nothing to judge, but the server must let go quietly.
        await this.exchange(
          'POST /link, client hangs up mid-body',
          {
            method: 'POST',
            path: '/link',
            headers: { 'content-type': 'application/octet-stream' },
            body,
            abortAfter: this.rng.int(body.length),
          },
          'outside',
        );
        return;
      }
      let r: { status: number; frames: Got[] };
      try {
        r = await postLink(this.d.url, body, DEADLINE_MS);
      } catch (e) {
        this.fail(`short link: ${(e as Error).message} — mutated VOICE_PART ${describeInput()}`);
        return;
      }
      bump(this.d.stats.statuses, `link ${r.status}`);
      replies = r.frames;
      v = judgeShort(body, octx, { status: r.status, frames: r.frames });
      if (v.fatal) bump(this.d.stats.voice.fatal, `${v.fatal} HTTP ${r.status}`);
    }
    for (const code of v.refusals) bump(this.d.stats.voice.refusals, code);
    if (v.tolerated) bump(this.d.stats.tolerated, v.tolerated);
    if (v.problem) {
      this.fail(`${via} link: ${v.problem} — mutated VOICE_PART ${describeInput()}`);
      return;
    }
    // Each PART_ACK names the part it answers.
    for (const g of replies) {
      if (g.op !== Op.PART_ACK) continue;
      const req = (v.handled ?? []).filter((f) => f.seq === g.seq && f.op === Op.VOICE_PART);
      if (req.length !== 1) continue;
      const body = safeDecode(Op.VOICE_PART, req[0]!.body);
      if (body.upload !== g.body.upload || body.index !== g.body.index)
        this.fail(
          `PART_ACK ${JSON.stringify(g.body.upload)}#${g.body.index} answers part ${JSON.stringify(body.upload)}#${body.index}`,
        );
      else this.d.stats.voice.acks++;
    }
  }
}

/** A request as a line of a report. */
export function describe(req: RawRequest): string {
  const h = Object.entries(req.headers)
    .map(([k, v]) => `${k}: ${k === 'authorization' ? `${v.slice(0, 14)}…` : v.slice(0, 80)}`)
    .join('; ');
  const body = req.body ?? EMPTY;
  const preview = Buffer.from(body.subarray(0, 96));
  const printable = /^[\x20-\x7e\n\t]*$/.test(preview.toString('latin1'));
  const framing =
    typeof req.framing === 'object'
      ? ` content-length ${req.framing.declare}`
      : req.framing === 'chunked'
        ? ' chunked'
        : '';
  return `${req.method} ${req.path.slice(0, 160)}${req.path.length > 160 ? '…' : ''} [${h}] body ${body.length} bytes${framing}${req.abortAfter !== undefined ? `, hung up after ${req.abortAfter}` : ''}${body.length ? `: ${printable ? JSON.stringify(preview.toString('latin1')) : preview.toString('hex')}` : ''}`;
}
