// What a media fuzz worker sends: whole uploads of real, damaged, bomb and non-image files with hostile
// requests mixed in, hostile bodies, paths and tokens, hung-up uploads, requests racing on one upload,
// Range probes, others' ids, voice notes over both links and SENDs naming media. Every request goes
// through the worker's pipeline (model → expectation → judge → model).
import { createHash } from 'node:crypto';
import { ErrorCode, Limits, MsgKind } from '@synkey/protocol';
import {
  authHeader,
  chunkSegment,
  contentType,
  hostileCreateBody,
  hostilePath,
  serveHeaders,
  validFields,
} from './fuzz-media-corpus';
import type { RawRequest } from './fuzz-media-http';
import { freshImage, mutateImage, type PoolImage } from './fuzz-media-images';
import { type ModelUpload, type PartReq, QUOTA } from './fuzz-media-model';
import { chunkLength, type Outcome } from './fuzz-media-oracle';
import type { Intent, MediaWorker, Role } from './fuzz-media-worker';

const json = (fields: [string, string][]) =>
  Buffer.from(`{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A scenario and how often workers pick it. */
export const SCENARIOS: readonly (readonly [number, (w: MediaWorker) => Promise<void>])[] = [
  [14, upload],
  [12, hostileCreate],
  [14, hostileRoute],
  [7, authProbe],
  [5, hangUp],
  [10, serveProbe],
  [5, foreignProbe],
  [4, race],
  [7, voiceNote],
  [10, mutatedVoice],
  [5, sendMedia],
  [2, cancelOne],
];

// ---------------------------------------------------------------------------------------------------
// Files

/** A file to upload: a real image, a damaged one, a bomb, or no image. */
async function pickFile(w: MediaWorker): Promise<Intent & { label: string }> {
  const { base, bombs, nonImages } = w.d.images;
  const rng = w.rng;
  // Base images are stored once and then deduped: fresh ones keep the decoder busy with new files.
  const fresh = rng.chance(0.3) ? await freshImage(rng) : undefined;
  const baseImage = (): PoolImage => {
    if (fresh) return fresh;
    // The 6-megapixel PNG takes a while to decode: rarely.
    const b = rng.pick(base);
    return b.label.includes('3000x2000') && !rng.chance(0.1) ? base[0]! : b;
  };
  const img = rng.weighted<() => PoolImage>([
    [34, baseImage],
    [44, () => mutateImage(rng, baseImage(), base)],
    [8, () => rng.pick(bombs)],
    [14, () => rng.pick(nonImages)],
  ])();
  return { file: img.bytes, cls: img.cls, label: img.label };
}

function chunkSizeFor(w: MediaWorker, size: number): number | undefined {
  return w.rng.weighted<number | undefined>([
    [60, 64 * 1024],
    [15, undefined],
    [15, w.rng.range(64 * 1024, Math.max(64 * 1024, Math.min(Limits.maxImageChunk, size)))],
    [10, Limits.maxImageChunk],
  ]);
}

const put = (
  w: MediaWorker,
  id: string,
  segment: string,
  body: Uint8Array,
  extra: Partial<RawRequest> = {},
): RawRequest => ({
  method: 'PUT',
  path: `/media/uploads/${id}/${segment}`,
  headers: { 'content-type': w.rng.chance(0.9) ? 'application/octet-stream' : (contentType(w.rng) ?? 'x/y') },
  body,
  framing: w.rng.chance(0.15) ? 'chunked' : 'length',
  ...extra,
});

const chunkOf = (u: ModelUpload, i: number) => u.file.subarray(i * u.chunkSize, (i + 1) * u.chunkSize);

/** Opens an upload of `intent` (declaring `declared` instead, for a liar); the model's upload, if opened. */
async function open(
  w: MediaWorker,
  intent: Intent,
  declared: Buffer = intent.file,
  role?: Role,
): Promise<ModelUpload | undefined> {
  const fields = validFields(w.rng, declared.length, sha(declared)).filter(([k]) => k !== 'chunkSize');
  const cs = chunkSizeFor(w, declared.length);
  if (cs !== undefined) fields.push(['chunkSize', String(cs)]);
  const s = await w.call(
    'create upload',
    { method: 'POST', path: '/media/uploads', headers: { 'content-type': 'application/json' }, body: json(fields) },
    { intent, ...(role ? { role } : {}) },
  );
  if (s.outcome === ErrorCode.RateLimited) await cancelOne(w);
  return s.outcome === 201 ? w.model.uploads.get(s.json?.upload as string) : undefined;
}

/** Sends one hostile PUT aimed at `u`: a wrong length, a bad index, or another upload's id. */
async function hostilePut(w: MediaWorker, u: ModelUpload): Promise<void> {
  const rng = w.rng;
  const i = rng.int(u.chunks);
  const right = chunkOf(u, i);
  const [note, segment, body] = rng.weighted<readonly [string, string, Uint8Array]>([
    [10, ['one byte short', String(i), right.subarray(0, Math.max(0, right.length - 1))]],
    [8, ['one byte long', String(i), Buffer.concat([right, Buffer.from([0])])]],
    [6, ['empty', String(i), new Uint8Array(0)]],
    [4, ['twice as long', String(i), Buffer.concat([right, right])]],
    [12, ['bad index', chunkSegment(rng, u.chunks), right]],
    [4, ['past the end', String(u.chunks + rng.int(3)), right]],
  ]);
  await w.call('hostile PUT', put(w, u.id, segment, body), { note });
}

// ---------------------------------------------------------------------------------------------------
// Scenarios

/**
 * A whole upload: open, send the chunks in any order (some twice, some hostile PUTs and status reads in
 * between, one left out until complete says which), complete (sometimes twice at once), then read it
 * back, maybe send it and cancel the finished upload. A liar declares another file's digest.
 */
async function upload(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  const intent = await pickFile(w);
  const liar = rng.chance(0.07);
  let declared = intent.file;
  if (liar) {
    declared = Buffer.from(intent.file);
    const i = rng.int(declared.length);
    declared[i] = declared[i]! ^ 0x01;
  }
  // The steps of an upload of a damaged file, a bomb or a liar's are mutated inputs.
  const role = intent.cls === 'valid' && !liar ? undefined : 'mutated';
  const u = await open(w, intent, declared, role);
  if (!u) return;
  if (rng.chance(0.06))
    await w.call(
      'complete before any chunk',
      { method: 'POST', path: `/media/uploads/${u.id}/complete`, headers: {} },
      { role },
    );
  const order = Array.from({ length: u.chunks }, (_, i) => i).sort(() => rng.next() - 0.5);
  const skip = u.chunks > 1 && rng.chance(0.2) ? order.pop() : undefined;
  for (const i of order) {
    if (!w.d.more()) return;
    if (rng.chance(0.12)) await hostilePut(w, u);
    await w.call('PUT chunk', put(w, u.id, String(i), chunkOf(u, i)), { role });
    if (rng.chance(0.1)) await w.call('PUT chunk again', put(w, u.id, String(i), chunkOf(u, i)));
    if (rng.chance(0.1)) await w.call('upload status', { method: 'GET', path: `/media/uploads/${u.id}`, headers: {} });
  }
  if (skip !== undefined) {
    await w.call('complete, a chunk missing', { method: 'POST', path: `/media/uploads/${u.id}/complete`, headers: {} });
    await w.call('PUT the missing chunk', put(w, u.id, String(skip), chunkOf(u, skip)));
  }
  if (rng.chance(0.12)) await completeRace(w, u);
  else await w.call('complete', { method: 'POST', path: `/media/uploads/${u.id}/complete`, headers: {} }, { role });
  if (rng.chance(0.15))
    await w.call('complete again', { method: 'POST', path: `/media/uploads/${u.id}/complete`, headers: {} });
  if (u.state === 'done' && u.media) {
    if (rng.chance(0.3) && (await w.sendMessage(MsgKind.Image, u.media.id, rng.chance(0.7) ? 'long' : 'short'))) {
      await w.call(
        'peer reads sent media',
        { method: 'GET', path: `/media/${u.media.id}${rng.chance(0.3) ? '/thumb' : ''}`, headers: {} },
        { viewer: 'peer' },
      );
    }
    if (rng.chance(0.25)) {
      await w.call('cancel a finished upload', { method: 'DELETE', path: `/media/uploads/${u.id}`, headers: {} });
      await w.call('status of a cancelled upload', { method: 'GET', path: `/media/uploads/${u.id}`, headers: {} });
      await w.call('its media stays', { method: 'GET', path: `/media/${u.media.id}`, headers: {} });
    }
  } else if (u.state === 'gone' && rng.chance(0.3)) {
    await w.call('status of a dropped upload', { method: 'GET', path: `/media/uploads/${u.id}`, headers: {} });
  }
}

/** 2–4 completes of one upload at once: the same media to all, or one refusal that drops it and 404 to the rest. */
async function completeRace(w: MediaWorker, u: ModelUpload): Promise<void> {
  const n = w.rng.range(2, 4);
  const before = w.model.completeOutcomes(u);
  const drops = before.some(
    (o) => o === ErrorCode.Invalid || o === ErrorCode.MediaTooLarge || o === ErrorCode.UnsupportedMedia,
  );
  const allowed: Outcome[] = [...before, ...(drops ? [ErrorCode.NotFound] : [])];
  w.d.stats.races++;
  const req = () => ({ method: 'POST', path: `/media/uploads/${u.id}/complete`, headers: w.auth() });
  const got = await Promise.all(Array.from({ length: n }, () => w.exchange('racing completes', req(), allowed)));
  const outcomes = got.map((s) => s.outcome);
  if (outcomes.some((o) => o === undefined)) return;
  const ids = new Set(
    got.filter((s) => s.outcome === 200).map((s) => (s.json?.media as { id?: string } | undefined)?.id),
  );
  const refusals = outcomes.filter((o) => o !== 200 && o !== ErrorCode.NotFound);
  const consistent =
    (ids.size === 1 && outcomes.every((o) => o === 200)) ||
    (ids.size === 0 &&
      refusals.length === n &&
      new Set(refusals).size === 1 &&
      refusals[0] === ErrorCode.UploadIncomplete) ||
    (ids.size === 0 && refusals.length === 1 && outcomes.filter((o) => o === ErrorCode.NotFound).length === n - 1);
  if (!consistent)
    w.fail(`${n} racing completes of upload ${u.id} answered ${outcomes.join(', ')} (media ${[...ids].join(', ')})`);
  else await w.resync(u);
}

/** POST /media/uploads with a hostile body and any Content-Type. */
async function hostileCreate(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  const ref: Intent = rng.chance(0.5)
    ? await pickFile(w)
    : { file: Buffer.from(rng.bytes(rng.range(1, 5000))), cls: 'not-image' };
  const size = rng.chance(0.8) ? ref.file.length : rng.range(1, Limits.maxImageBytes);
  const { bytes, note } = hostileCreateBody(rng, size, sha(ref.file));
  const ct = contentType(rng);
  await w.call(
    'hostile create',
    {
      method: 'POST',
      path: '/media/uploads',
      headers: ct === undefined ? {} : { 'content-type': ct },
      body: bytes,
      framing: rng.chance(0.1) ? 'chunked' : 'length',
    },
    { note, intent: { file: ref.file, cls: ref.cls } },
  );
}

/** Ids a hostile path may name: the user's own (open, finished, dropped), others', made up. */
function someIds(w: MediaWorker): { upload: string; media: string } {
  const rng = w.rng;
  const uploads = [...w.model.uploads.keys()];
  const media = [...w.model.media.keys()];
  const foreign = w.world.foreign.filter((f) => f.owner !== w.model.user);
  const made = () =>
    rng.pick(['', 'x', 'A'.repeat(22), Buffer.from(rng.bytes(16)).toString('base64url'), '..', 'uploads', 'thumb']);
  const choose = (own: string[]) =>
    rng.weighted<() => string>([
      [50, () => (own.length > 0 ? rng.pick(own) : made())],
      [25, () => (foreign.length > 0 ? rng.pick(foreign).id : made())],
      [25, made],
    ])();
  return { upload: choose(uploads), media: choose(media) };
}

const METHODS: readonly (readonly [number, string])[] = [
  [30, 'GET'],
  [20, 'POST'],
  [20, 'PUT'],
  [10, 'DELETE'],
  [8, 'HEAD'],
  [5, 'PATCH'],
  [3, 'OPTIONS'],
  [1, 'PROPFIND'],
];

/** Any method on any path under /media, with a random body, content type and framing. */
async function hostileRoute(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  const { path, note } = hostilePath(rng, someIds(w));
  const method = rng.weighted(METHODS);
  const body =
    method === 'GET' || method === 'HEAD' || rng.chance(0.3)
      ? undefined
      : Buffer.from(
          rng.bytes(
            rng.weighted([
              [50, rng.int(100)],
              [30, rng.int(70_000)],
              [20, 0],
            ]),
          ),
        );
  const ct = contentType(rng);
  const headers: Record<string, string> = ct === undefined ? {} : { 'content-type': ct };
  if (rng.chance(0.15)) headers.range = 'bytes=0-10';
  await w.call('hostile route', { method, path, headers, ...(body ? { body } : {}) }, { note: `${method} ${note}` });
}

/** A request of any route with an Authorization header the server must refuse (or a quirky valid one). */
async function authProbe(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  const a = authHeader(rng, w.tokens);
  const { path, note } = hostilePath(rng, someIds(w));
  const method = rng.weighted(METHODS);
  const headers: Record<string, string> = a.header === undefined ? {} : { authorization: a.header };
  const body = method === 'POST' || method === 'PUT' ? Buffer.from(rng.bytes(rng.int(3000))) : undefined;
  const withQuery = rng.chance(0.1) ? `${path}${path.includes('?') ? '&' : '?'}token=${w.tokens.good}` : path;
  await w.call(
    'auth probe',
    { method, path: withQuery, headers, ...(body ? { body } : {}) },
    { auth: a.auth, note: `${a.note}, ${note}` },
  );
}

/** An open upload of this user to aim at; opens one with a declared digest if there is none. */
async function someOpenUpload(w: MediaWorker): Promise<ModelUpload | undefined> {
  const held = [...w.model.uploads.values()].filter((u) => u.state === 'open');
  if (held.length > 0) return w.rng.pick(held);
  return open(w, await pickFile(w));
}

/** The client hangs up in the middle of a chunk or a create body; the chunk must not be held. */
async function hangUp(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  if (rng.chance(0.25)) {
    const body = json(validFields(rng, rng.range(1, 1_000_000), sha(rng.bytes(8))));
    await w.call('create, client hangs up', {
      method: 'POST',
      path: '/media/uploads',
      headers: { 'content-type': 'application/json' },
      body,
      abortAfter: rng.int(body.length),
    });
    return;
  }
  const u = await someOpenUpload(w);
  if (!u) return;
  const i = rng.int(u.chunks);
  const want = chunkLength(u.size, u.chunkSize, i);
  // The chunk's bytes when the file has them (a hostile create may declare a size its file does not have).
  const right = chunkOf(u, i);
  const body = right.length === want ? right : Buffer.alloc(want);
  const lie = rng.chance(0.2);
  await w.call(
    'PUT, client hangs up mid-body',
    put(w, u.id, String(i), body, {
      abortAfter: rng.int(Math.max(1, body.length)),
      framing: lie ? { declare: want + rng.range(1, 1000) } : 'length',
    }),
  );
  await w.call('status after a hung-up PUT', { method: 'GET', path: `/media/uploads/${u.id}`, headers: {} });
}

/** GET or HEAD of own (or the peer's view of sent) media with Range, If-Range and If-None-Match. */
async function serveProbe(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  const media = [...w.model.media.values()].filter((m) => m.full && m.etag);
  if (media.length === 0) {
    await upload(w);
    return;
  }
  const m = rng.pick(media);
  const thumb = m.kind === 'image' && m.thumb !== undefined && rng.chance(0.3);
  const viewer = m.sentTo.size > 0 && rng.chance(0.3) ? 'peer' : 'self';
  const size = (thumb ? m.thumb : m.full)!.length;
  const headers = serveHeaders(rng, size, (thumb ? m.thumbEtag : m.etag)!);
  await w.call(
    'range probe',
    { method: rng.chance(0.15) ? 'HEAD' : 'GET', path: `/media/${m.id}${thumb ? '/thumb' : ''}`, headers },
    { viewer },
  );
}

/** Another user's upload or media id on any route: always 404 (400 where the method is wrong). */
async function foreignProbe(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  const foreign = w.world.foreign.filter((f) => f.owner !== w.model.user);
  if (foreign.length === 0) return;
  const { id } = rng.pick(foreign);
  const [method, path, body] = rng.pick<readonly [string, string, Uint8Array | undefined]>([
    ['GET', `/media/${id}`, undefined],
    ['GET', `/media/${id}/thumb`, undefined],
    ['HEAD', `/media/${id}`, undefined],
    ['GET', `/media/uploads/${id}`, undefined],
    ['DELETE', `/media/uploads/${id}`, undefined],
    ['POST', `/media/uploads/${id}/complete`, undefined],
    ['PUT', `/media/uploads/${id}/0`, Buffer.alloc(rng.pick([0, 10, 65_536]))],
  ]);
  await w.call('others’ id', {
    method,
    path,
    headers: rng.chance(0.3) ? { range: 'bytes=0-99' } : {},
    ...(body ? { body } : {}),
  });
  if (rng.chance(0.3)) await w.sendMessage(rng.pick([MsgKind.Image, MsgKind.Voice]), id, 'long');
}

/** Requests racing on one upload: duplicate PUTs, PUT with complete, DELETE with complete, creates at the quota. */
async function race(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  const kind = rng.weighted<string>([
    [30, 'dup-puts'],
    [25, 'put-complete'],
    [25, 'delete-complete'],
    [20, 'creates'],
  ]);
  if (kind === 'creates') return createsAtQuota(w);
  const intent = await pickFile(w);
  const u = await open(w, intent);
  if (!u) return;
  w.d.stats.races++;
  const last = u.chunks - 1;
  for (let i = 0; i < last; i++) await w.call('PUT chunk', put(w, u.id, String(i), chunkOf(u, i)));
  const putReq = () => ({
    ...put(w, u.id, String(last), chunkOf(u, last)),
    headers: { ...w.auth(), 'content-type': 'application/octet-stream' },
  });
  const completeReq = () => ({ method: 'POST', path: `/media/uploads/${u.id}/complete`, headers: w.auth() });
  if (kind === 'dup-puts') {
    const n = rng.range(2, 5);
    const got = await Promise.all(
      Array.from({ length: n }, () => w.exchange('racing duplicate PUTs', putReq(), [204])),
    );
    if (got.every((s) => s.outcome === 204)) w.model.put(u, String(last), chunkOf(u, last));
    await w.resync(u);
    return;
  }
  if (kind === 'put-complete') {
    const withChunk = w.model.completeOutcomes(u, true);
    const drops = withChunk.some((o) => o !== 200);
    const [p, c] = await Promise.all([
      w.exchange('PUT racing complete', putReq(), [204, ...(drops ? [ErrorCode.NotFound] : [])]),
      w.exchange('complete racing PUT', completeReq(), [ErrorCode.UploadIncomplete, ...withChunk]),
    ]);
    if (p.outcome === ErrorCode.NotFound && (c.outcome === 200 || c.outcome === ErrorCode.UploadIncomplete))
      w.fail(`a PUT racing complete got 404 while complete answered ${c.outcome} (upload ${u.id})`);
    if (p.outcome === 204 && c.outcome === ErrorCode.UploadIncomplete) w.model.put(u, String(last), chunkOf(u, last));
    await w.resync(u);
    return;
  }
  await w.call('PUT last chunk', put(w, u.id, String(last), chunkOf(u, last)));
  if (u.state !== 'open') return;
  const outcomes = w.model.completeOutcomes(u);
  const [d, c] = await Promise.all([
    w.exchange('DELETE racing complete', { method: 'DELETE', path: `/media/uploads/${u.id}`, headers: w.auth() }, [
      204,
      ErrorCode.NotFound,
    ]),
    w.exchange('complete racing DELETE', completeReq(), [...outcomes, ErrorCode.NotFound]),
  ]);
  if (d.outcome === undefined || c.outcome === undefined) return;
  // Under the upload's lock one goes first: DELETE (complete 404), or complete. A DELETE that found the
  // upload before a refusing complete dropped it is a cancel all the same (204); one that came after
  // the drop is 404. A stored upload's record stays until cancelled, so no DELETE can miss it.
  const fine =
    d.outcome === 204 || (d.outcome === ErrorCode.NotFound && c.outcome !== 200 && c.outcome !== ErrorCode.NotFound);
  if (!fine) w.fail(`DELETE racing complete answered ${d.outcome}, complete ${c.outcome} (upload ${u.id})`);
  if (c.outcome === 200) {
    const p = w.finished(u, c.json?.media as never);
    if (p) w.fail(`complete racing DELETE: ${p}`);
    await w.verifyNew();
  }
  u.state = 'gone';
  await w.call('status after DELETE raced complete', { method: 'GET', path: `/media/uploads/${u.id}`, headers: {} });
}

/** Several creates at once near the open-upload quota: exactly as many open as there is room for. */
async function createsAtQuota(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  const n = rng.range(2, 5);
  const reqs = Array.from({ length: n }, () => {
    const file = Buffer.from(rng.bytes(rng.range(10, 3000)));
    return {
      file,
      body: json([
        ['size', String(file.length)],
        ['sha256', JSON.stringify(sha(file))],
      ]),
    };
  });
  const open = [...w.model.uploads.values()].filter((u) => u.state === 'open');
  const bytes = reqs.reduce((n, r) => n + r.file.length, 0);
  const roomy =
    open.reduce((n, u) => n + u.size, 0) + bytes <= QUOTA.maxOpenBytes &&
    w.model.everOpened + bytes <= QUOTA.maxBytesPerDay;
  const room = Math.max(0, QUOTA.maxOpenUploads - open.length);
  w.d.stats.races++;
  const got = await Promise.all(
    reqs.map((r) =>
      w.exchange('racing creates', { method: 'POST', path: '/media/uploads', headers: w.auth(), body: r.body }, [
        201,
        ErrorCode.RateLimited,
      ]),
    ),
  );
  const opened = got.filter((s) => s.outcome === 201).length;
  if (got.some((s) => s.outcome === undefined)) return;
  if (roomy && opened !== Math.min(n, room))
    w.fail(`${n} racing creates with room for ${room} more uploads opened ${opened}`);
  got.forEach((s, i) => {
    if (s.outcome !== 201) return;
    const size = reqs[i]!.file.length;
    w.model.opened(
      s.json!.upload as string,
      { size, sha256: sha(reqs[i]!.file), chunkSize: 512 * 1024, chunks: 1 },
      reqs[i]!.file,
      'not-image',
      true,
    );
  });
}

/** Cancels one open upload (keeps the quota free). */
async function cancelOne(w: MediaWorker): Promise<void> {
  const open = [...w.model.uploads.values()].filter((u) => u.state === 'open');
  if (open.length === 0) return;
  await w.call('cancel', { method: 'DELETE', path: `/media/uploads/${w.rng.pick(open).id}`, headers: {} });
}

// ---------------------------------------------------------------------------------------------------
// Voice and SEND

let voiceCounter = 0;

/** A voice note in parts over either link: out of order, resent, some empty, some refused. */
async function voiceNote(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  const done = [...w.model.voice.entries()].filter(([, v]) => v.state === 'done');
  const upload = rng.weighted<() => string>([
    [80, () => `v${++voiceCounter}-${rng.u32().toString(36)}`],
    [8, () => (done.length > 0 ? rng.pick(done)[0] : 'v-fallback')],
    [4, () => 'n'.repeat(Limits.maxId)],
    [4, () => 'n'.repeat(Limits.maxId + 1)],
    [4, () => ''],
  ])();
  const container = rng.weighted<number[]>([
    [50, [0x1a, 0x45, 0xdf, 0xa3]],
    [15, [0x4f, 0x67, 0x67, 0x53]],
    [10, [0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70]],
    [20, [0x49, 0x44, 0x33]],
    [5, []],
  ]);
  const big = rng.chance(0.015);
  const size = big ? Limits.maxVoiceBytes + rng.range(1, 100_000) : rng.range(container.length, 40_000);
  const bytes = Buffer.from(rng.bytes(size));
  bytes.set(container.slice(0, size));
  const count = big ? Math.ceil(size / Limits.maxVoicePart) : rng.range(1, 8);
  const partSize = Math.ceil(size / count);
  const parts: PartReq[] = Array.from({ length: count }, (_, i) => ({
    upload,
    index: i,
    data: bytes.subarray(i * partSize, (i + 1) * partSize),
    ...(i === count - 1
      ? {
          last: true,
          mime: 'audio/webm;codecs=opus',
          ...(rng.chance(0.8) ? { durationMs: rng.pick([1200, 59_000, Limits.maxVoiceMs + 1, 2 ** 40]) } : {}),
        }
      : {}),
  }));
  if (!big) parts.sort(() => rng.next() - 0.5);
  if (rng.chance(0.2)) parts.push({ ...rng.pick(parts) });
  if (rng.chance(0.08)) parts.push({ upload, index: count + rng.int(3), data: Buffer.from('late') });
  if (rng.chance(0.06)) parts.push({ upload, index: rng.int(count), data: Buffer.alloc(0), last: true });
  if (rng.chance(0.05)) parts.push({ upload, index: 1024, data: Buffer.alloc(1) });
  if (rng.chance(0.05)) parts.push({ upload, index: 0, data: Buffer.alloc(Limits.maxVoicePart + 1) });
  const via = () => (rng.chance(0.75) ? 'long' : 'short');
  for (let at = 0; at < parts.length && w.d.more(); ) {
    const v = via();
    const want = rng.chance(0.6) ? 1 : rng.range(2, 6);
    // Well under maxFrame (256 KiB) per message or body, AUTH included.
    let n = 1;
    let bytes = parts[at]!.data.length;
    while (n < want && at + n < parts.length && bytes + parts[at + n]!.data.length < 200_000)
      bytes += parts[at + n++]!.data.length;
    await w.parts(parts.slice(at, at + n), v);
    at += n;
  }
  const note = w.model.voice.get(upload);
  if (note?.state === 'done' && note.media && rng.chance(0.3)) await w.sendMessage(MsgKind.Voice, note.media.id, via());
}

/** Mutated VOICE_PART frames for the frame oracle. */
async function mutatedVoice(w: MediaWorker): Promise<void> {
  await w.mutant(w.rng.chance(0.7) ? 'long' : 'short');
}

/** SENDs naming media of every kind: own finished or unfinished, others', none, made up, of the wrong kind. */
async function sendMedia(w: MediaWorker): Promise<void> {
  const rng = w.rng;
  const m = w.model;
  const pick = <T>(xs: T[], fallback: T) => (xs.length > 0 ? rng.pick(xs) : fallback);
  const foreign = w.world.foreign.filter((f) => f.owner !== m.user);
  const media = rng.weighted<() => string | undefined>([
    [25, () => pick([...m.media.keys()], undefined)],
    [
      12,
      () =>
        pick(
          [...m.uploads.values()].filter((u) => u.state === 'open').map((u) => u.id),
          undefined,
        ),
    ],
    [
      8,
      () =>
        pick(
          [...m.voice.entries()].filter(([, v]) => v.state === 'open').map(([k]) => k),
          undefined,
        ),
    ],
    [
      15,
      () =>
        pick(
          foreign.map((f) => f.id),
          'nothing',
        ),
    ],
    [10, () => undefined],
    [10, () => Buffer.from(rng.bytes(16)).toString('base64url')],
    [5, () => ''],
    [5, () => 'x'.repeat(Limits.maxId + 1)],
  ])();
  const kind = rng.weighted([
    [45, MsgKind.Image],
    [35, MsgKind.Voice],
    [20, MsgKind.Text],
  ]);
  await w.sendMessage(kind, media, rng.chance(0.75) ? 'long' : 'short');
}
