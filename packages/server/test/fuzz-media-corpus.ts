// Hostile requests for the media fuzzer: POST /media/uploads bodies (malformed and hostile JSON, huge,
// negative and float numbers, wrong types, prototype-pollution keys, deep nesting), request paths (dot
// segments, encoded slashes and nulls, odd indexes), Authorization headers and Range headers of every
// shape. Pure: a seeded generator in, bytes and strings out.
import type { Rng } from './fuzz-corpus';

/** A JSON value written as text, so that duplicate keys, raw numbers and broken syntax can be sent. */
type Json = string;

const str = (s: string): Json => JSON.stringify(s);
const obj = (entries: [string, Json][]): Json => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
const hex = (rng: Rng, n: number) => Array.from({ length: n }, () => '0123456789abcdef'[rng.int(16)]).join('');

/** The fields of a valid body for a file of `size` bytes with digest `sha256`. */
export function validFields(rng: Rng, size: number, sha256: string): [string, Json][] {
  const fields: [string, Json][] = [
    ['size', String(size)],
    ['sha256', str(rng.chance(0.1) ? sha256.toUpperCase() : sha256)],
  ];
  if (rng.chance(0.5)) fields.push(['name', str(rng.pick(GOOD_NAMES))]);
  if (rng.chance(0.3))
    fields.push(['mime', str(rng.pick(['image/png', 'image/jpeg', 'image/svg+xml', 'image/x-anything']))]);
  if (rng.chance(0.4)) fields.push(['chunkSize', String(rng.pick([65_536, 100_000, 512 * 1024, 4 * 1024 * 1024]))]);
  return rng.chance(0.3) ? shuffle(rng, fields) : fields;
}

function shuffle<T>(rng: Rng, xs: T[]): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const GOOD_NAMES = [
  'photo.png',
  'IMG_0001.JPG',
  '../../etc/passwd',
  'C:\\Users\\me\\pic.jpg',
  '/absolute/path/x.gif',
  'dir/',
  '   ',
  'emoji 🙂📷.webp',
  '中文图片.png',
  '\u202eRTL.gpj.png',
  'x'.repeat(255),
  '🙂'.repeat(127),
  '<script>alert(1)</script>.png',
  "'; DROP TABLE media; --",
];

const BAD_NAMES: Json[] = [
  str('nul\u0000inside.png'),
  str('bell\u0007.png'),
  str('line\nbreak.png'),
  str('c1\u0085control'),
  str('del\u007f'),
  '"lone \\ud800 surrogate"',
  '"lone \\udfff low"',
  str('y'.repeat(256)),
  str('🙂'.repeat(128)),
  '42',
  'true',
  '["a.png"]',
  '{"toString":"x"}',
  'null',
];

const BAD_SIZES: Json[] = [
  '-1',
  '0',
  '-0',
  '1.5',
  '0.0000001',
  '1e-400',
  '"100"',
  'true',
  'null',
  '[]',
  '{}',
  '1e400',
  '-1e400',
  '1e21',
  '9007199254740993',
  '18446744073709551616',
  String(20 * 1024 * 1024 + 1),
  String(2 ** 31),
  '"0x10"',
  '1E3',
  '2e7',
  String(20 * 1024 * 1024),
  '1.0',
];

const BAD_SHAS = (rng: Rng): Json[] => [
  str(hex(rng, 63)),
  str(hex(rng, 65)),
  str(`${hex(rng, 63)}g`),
  str(` ${hex(rng, 64)}`),
  str(''),
  '12345',
  'null',
  `[${str(hex(rng, 64))}]`,
  str('ｆ'.repeat(64)),
  str(`${hex(rng, 60)}\u0000\u0000\u0000\u0000`),
];

const BAD_MIMES: Json[] = [
  str('text/html'),
  str('application/octet-stream'),
  str('audio/webm'),
  str('image'),
  str('IMAGE/PNG'),
  str(''),
  'null',
  '5',
  '["image/png"]',
  str(' image/png'),
  str('video/mp4'),
];

const BAD_CHUNKS: Json[] = [
  '65535',
  '0',
  '-1',
  '1.5',
  String(4 * 1024 * 1024 + 1),
  '1e10',
  '"65536"',
  'null',
  'true',
  '9007199254740993',
];

const POLLUTION: [string, Json][] = [
  ['__proto__', '{"size":1,"polluted":true}'],
  ['constructor', '{"prototype":{"polluted":true}}'],
  ['toString', '1'],
  ['hasOwnProperty', '"x"'],
  ['valueOf', 'null'],
  ['__defineGetter__', '0'],
];

/** A POST /media/uploads body: a valid one bent in one to three places, or broken JSON. */
export function hostileCreateBody(rng: Rng, size: number, sha256: string): { bytes: Uint8Array; note: string } {
  const shape = rng.weighted<string>([
    [70, 'fields'],
    [30, 'structure'],
  ]);
  if (shape === 'structure') return structure(rng, validFields(rng, size, sha256));
  const fields = validFields(rng, size, sha256);
  const notes: string[] = [];
  for (
    let n = rng.weighted([
      [60, 1],
      [30, 2],
      [10, 3],
    ]);
    n > 0;
    n--
  ) {
    const which = rng.weighted<string>([
      [20, 'size'],
      [14, 'sha256'],
      [14, 'name'],
      [12, 'mime'],
      [10, 'chunkSize'],
      [10, 'pollution'],
      [6, 'drop'],
      [6, 'duplicate'],
      [4, 'extra'],
    ]);
    notes.push(which);
    const set = (k: string, v: Json) => {
      const i = fields.findIndex(([f]) => f === k);
      if (i >= 0) fields[i] = [k, v];
      else fields.push([k, v]);
    };
    switch (which) {
      case 'size':
        set('size', rng.pick(BAD_SIZES));
        break;
      case 'sha256':
        set('sha256', rng.pick(BAD_SHAS(rng)));
        break;
      case 'name':
        set('name', rng.chance(0.3) ? str(rng.pick(GOOD_NAMES)) : rng.pick(BAD_NAMES));
        break;
      case 'mime':
        set('mime', rng.pick(BAD_MIMES));
        break;
      case 'chunkSize':
        set('chunkSize', rng.pick(BAD_CHUNKS));
        break;
      case 'pollution':
        fields.splice(rng.int(fields.length + 1), 0, rng.pick(POLLUTION));
        break;
      case 'drop':
        fields.splice(rng.int(fields.length), 1);
        break;
      case 'duplicate': {
        const [k] = rng.pick(fields);
        fields.push([k, rng.pick(['-1', 'null', '"x"', rng.pick(BAD_SIZES)])]);
        break;
      }
      default:
        fields.push([`x${rng.u32().toString(36)}`, rng.pick(['1', '"y"', '[1,2]', '{"a":{"b":{}}}'])]);
    }
  }
  return { bytes: Buffer.from(obj(fields)), note: `json:${notes.join('+')}` };
}

function structure(rng: Rng, fields: [string, Json][]): { bytes: Uint8Array; note: string } {
  const good = obj(fields);
  const kind = rng.weighted<string>([
    [6, 'deep-array'],
    [6, 'deep-object'],
    [5, 'wrapped'],
    [6, 'not-object'],
    [4, 'empty'],
    [6, 'truncated'],
    [5, 'trailing'],
    [4, 'bom'],
    [5, 'bad-utf8'],
    [5, 'not-json'],
    [4, 'padded'],
    [3, 'huge'],
    [3, 'utf16'],
  ]);
  const text = (s: string) => ({ bytes: Buffer.from(s), note: `json:${kind}` });
  switch (kind) {
    case 'deep-array': {
      const d = rng.range(10, 3000);
      return text(`${'['.repeat(d)}${']'.repeat(d)}`);
    }
    case 'deep-object': {
      const d = rng.range(10, 800);
      return text(`${'{"a":'.repeat(d)}1${'}'.repeat(d)}`);
    }
    case 'wrapped':
      return text(rng.pick([`[${good}]`, `{"body":${good}}`, `{"__proto__":${good}}`]));
    case 'not-object':
      return text(rng.pick(['null', 'true', '0', '"size"', '[]', '[1,2,3]', '-1', '1e999']));
    case 'empty':
      return text(rng.pick(['', ' ', '\n\t ', '{}']));
    case 'truncated':
      return text(good.slice(0, rng.int(good.length)));
    case 'trailing':
      return text(good + rng.pick(['x', '}', ',', '{}', '\u0000', ' // comment']));
    case 'bom':
      return { bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(good)]), note: 'json:bom' };
    case 'bad-utf8': {
      const b = Buffer.from(good);
      const i = good.indexOf('"', good.indexOf('sha256') + 9) + 1 || 1;
      return {
        bytes: Buffer.concat([
          b.subarray(0, i),
          Buffer.from(rng.pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0x80]])),
          b.subarray(i),
        ]),
        note: 'json:bad-utf8',
      };
    }
    case 'not-json':
      return text(
        rng.pick([
          good.replace(/"/g, "'"),
          `{size: 1, sha256: "${'a'.repeat(64)}"}`,
          good.replace(/\d+/, 'NaN'),
          good.replace(/\d+/, 'Infinity'),
          `/* c */${good}`,
          'size=1&sha256=abc',
          '<xml/>',
        ]),
      );
    case 'padded':
      return text(`${' '.repeat(rng.range(100, 6000))}${good}`);
    case 'huge':
      return text(obj([...fields, ['pad', str('p'.repeat(rng.range(4000, 200_000)))]]));
    default:
      return { bytes: Buffer.from(good, 'utf16le'), note: 'json:utf16' };
  }
}

/** A random Content-Type (the upload API reads the body the same whatever it says). */
export function contentType(rng: Rng): string | undefined {
  return rng.weighted<string | undefined>([
    [30, 'application/json'],
    [20, undefined],
    [10, 'application/octet-stream'],
    [6, 'text/plain'],
    [6, 'multipart/form-data; boundary=----x'],
    [6, 'application/x-www-form-urlencoded'],
    [5, 'image/png'],
    [5, 'application/json; charset=utf-16'],
    [4, ''],
    [4, 'x/y; ;;; ='],
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Authorization

/** What the server must make of an Authorization header. */
export type AuthCase = 'valid' | 'unauthenticated' | 'expired';

/** Tokens a worker holds: its own, and ones the server must refuse. */
export interface Tokens {
  good: string;
  expired: string;
  otherSecret: string;
  longSubject: string;
  noneAlg: string;
}

/** An Authorization header (absent: undefined) and what it must get. */
export function authHeader(rng: Rng, t: Tokens): { header: string | undefined; auth: AuthCase; note: string } {
  const [note, header, auth] = rng.weighted<readonly [string, string | undefined, AuthCase]>([
    [10, ['none', undefined, 'unauthenticated']],
    [6, ['Bearer only', 'Bearer', 'unauthenticated']],
    [5, ['Bearer empty', 'Bearer ', 'unauthenticated']],
    [5, ['Basic', `Basic ${Buffer.from('u:p').toString('base64')}`, 'unauthenticated']],
    [5, ['token without scheme', t.good, 'unauthenticated']],
    [10, ['expired', `Bearer ${t.expired}`, 'expired']],
    [10, ['other secret', `Bearer ${t.otherSecret}`, 'unauthenticated']],
    [6, ['not a JWT', 'Bearer not-a-token', 'unauthenticated']],
    [6, ['cut token', `Bearer ${t.good.slice(0, rng.range(1, t.good.length - 1))}`, 'unauthenticated']],
    [5, ['token + garbage', `Bearer ${t.good}x`, 'unauthenticated']],
    [4, ['two tokens', `Bearer ${t.good} ${t.good}`, 'unauthenticated']],
    [5, ['65-unit subject', `Bearer ${t.longSubject}`, 'unauthenticated']],
    [5, ['alg none', `Bearer ${t.noneAlg}`, 'unauthenticated']],
    [4, ['flipped signature', `Bearer ${flipLast(t.good)}`, 'unauthenticated']],
    [5, ['lower-case scheme', `bearer ${t.good}`, 'valid']],
    [4, ['extra spaces', `Bearer    ${t.good}`, 'valid']],
  ]);
  return { header, auth, note };
}

function flipLast(token: string): string {
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -2)}${last}${token.at(-1)}`;
}

// ---------------------------------------------------------------------------------------------------
// Paths

/** Ids a path may name. */
export interface PathIds {
  upload: string;
  media: string;
}

/** A request-target under /media of any shape: the table's routes with odd ids, segments and encodings. */
export function hostilePath(rng: Rng, ids: PathIds): { path: string; note: string } {
  const u = ids.upload;
  const m = ids.media;
  const [note, path] = rng.weighted<readonly [string, string]>([
    [8, ['uploads root', '/media/uploads']],
    [4, ['uploads root slash', '/media/uploads/']],
    [8, ['upload', `/media/uploads/${u}`]],
    [6, ['complete', `/media/uploads/${u}/complete`]],
    [8, ['chunk', `/media/uploads/${u}/${chunkSegment(rng)}`]],
    [4, ['too deep', `/media/uploads/${u}/0/${rng.pick(['x', '', 'complete'])}`]],
    [8, ['file', `/media/${m}`]],
    [6, ['thumb', `/media/${m}/thumb`]],
    [4, ['variant', `/media/${m}/${rng.pick(['THUMB', 'full', 'thumb/', 'thumb/x', '', '..'])}`]],
    [3, ['media root', rng.pick(['/media', '/media/', '/media//', '/media///x'])]],
    [5, ['empty segment', rng.pick([`/media//${m}`, `/media/uploads//complete`, `/media/uploads/${u}//`])]],
    [
      5,
      [
        'encoded slash',
        rng.pick([
          `/media/uploads%2f${u}`,
          `/media/..%2f..%2fetc%2fpasswd`,
          `/media/${m}%2fthumb`,
          `/media/uploads/${u}%2Fcomplete`,
        ]),
      ],
    ],
    [
      5,
      [
        'dot segments',
        rng.pick([
          `/media/x/../uploads/${u}`,
          `/media/./${m}`,
          `/media/uploads/./${u}/complete`,
          `/media/%2e/${m}`,
          `/media/%2E%2E/media/${m}`,
        ]),
      ],
    ],
    [
      3,
      ['escape to /', rng.pick(['/media/..', '/media/../healthz', '/media/%2e%2e/%2e%2e/etc/passwd', '/media/../ws'])],
    ],
    [
      5,
      [
        'nul',
        rng.pick([`/media/${m}%00`, `/media/uploads/${u}%00/complete`, `/media/%00`, `/media/uploads/${u}/0%00`]),
      ],
    ],
    [
      4,
      [
        'percent',
        rng.pick([
          `/media/uploads/${u}/%63omplete`,
          `/media/%${rng.pick(['', 'g', 'zz', '4'])}`,
          `/media/${encodeURIComponent(m)}`,
        ]),
      ],
    ],
    [3, ['latin1', `/media/${m}\u00e9`]],
    [3, ['long', `/media/${'a'.repeat(rng.range(200, 6000))}`]],
    [4, ['query', `/media/${m}?token=x&${rng.pick(['range=bytes=0-1', 'a[]=1', '__proto__[x]=1'])}`]],
    [2, ['fragment', `/media/${m}#frag`]],
    [2, ['scheme-relative', `//evil.example/media/${m}`]],
  ]);
  return { path, note: `path:${note}` };
}

/** A chunk index segment: canonical, out of range, negative, non-numeric, huge, odd notation. */
export function chunkSegment(rng: Rng, chunks = 4): string {
  return rng.weighted<string>([
    [20, String(rng.int(chunks))],
    [8, String(chunks)],
    [6, '-1'],
    [6, '01'],
    [5, 'abc'],
    [5, ''],
    [4, '1.0'],
    [4, '+1'],
    [4, '1e3'],
    [4, '0x1'],
    [5, '4294967296'],
    [5, '99999999999999999999'],
    [3, '9'.repeat(400)],
    [3, '%31'],
    [3, 'NaN'],
    [3, 'Infinity'],
    [3, '000'],
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Range and conditional headers

/** Range, If-Range and If-None-Match headers of every shape for a file of `size` bytes with `etag`. */
export function serveHeaders(rng: Rng, size: number, etag: string): Record<string, string> {
  const h: Record<string, string> = {};
  if (rng.chance(0.85)) h.range = rangeValue(rng, size);
  if (rng.chance(0.12))
    h['if-range'] = rng.pick([etag, etag, `W/${etag}`, '"other"', 'Wed, 21 Oct 2015 07:28:00 GMT', '*', '']);
  if (rng.chance(0.1)) h['if-none-match'] = rng.pick([etag, '*', `"x", ${etag}`, `W/${etag}`, '"other"', '""']);
  return h;
}

function rangeValue(rng: Rng, size: number): string {
  const a = () =>
    rng.weighted([
      [50, rng.int(size)],
      [10, 0],
      [10, size - 1],
      [10, size],
      [10, size + rng.range(1, 1000)],
      [5, rng.u32()],
    ]);
  return rng.weighted<() => string>([
    [20, () => `bytes=${a()}-${a()}`],
    [12, () => `bytes=${a()}-`],
    [12, () => `bytes=-${a()}`],
    [4, () => 'bytes=-0'],
    [4, () => 'bytes=0-0'],
    [3, () => 'bytes=-'],
    [3, () => 'bytes='],
    [2, () => 'bytes'],
    [3, () => `Bytes=0-${a()}`],
    [2, () => `BYTES=${a()}-`],
    [3, () => `bytes = 0-${a()}`],
    [4, () => `bytes=0-${a()},${a()}-${a()}`],
    [2, () => `bytes=0-1, 3-4, 5-6`],
    [2, () => 'bytes=0-10,'],
    [2, () => 'bytes=,0-10'],
    [2, () => `items=0-${a()}`],
    [2, () => `bytes=00${a()}-0${a()}`],
    [2, () => 'bytes=0x10-0x20'],
    [2, () => 'bytes=1e3-'],
    [2, () => 'bytes=-1e3'],
    [2, () => 'bytes=99999999999999999999-'],
    [2, () => 'bytes=0-99999999999999999999'],
    [2, () => 'bytes=-99999999999999999999'],
    [1, () => 'bytes=18446744073709551616-18446744073709551617'],
    [2, () => 'bytes=1.5-2'],
    [2, () => 'bytes=+1-2'],
    [2, () => 'bytes=-1-2'],
    [1, () => `bytes=${'9'.repeat(400)}-`],
    [1, () => `bytes=${'0-0,'.repeat(1500)}0-0`],
    [2, () => `bytes=${a()}-${a()}\u00a0`],
    [2, () => ''],
  ])();
}
