import { ErrorCode, ProtocolError } from './errors';
import { decode, encode, type Packable } from './msgpack';

/**
 * A tiny schema language for frame bodies. A body is a msgpack array in which field number N sits
 * at index N-1 (nil where an optional field is absent, trailing nils dropped). Fields cost no key
 * bytes; a reader ignores elements past the fields it knows, so adding an optional field at the end
 * never breaks an old reader, and a retired field number is left nil, never reused.
 */
export type Scalar = 'uint' | 'int' | 'str' | 'bool' | 'bytes';
export type FieldType = Scalar | { readonly list: FieldType } | { readonly obj: Shape };
/** `[fieldNumber, type]` for a required field, `[fieldNumber, type, 'opt']` for an optional one. */
export type Field = readonly [number, FieldType] | readonly [number, FieldType, 'opt'];
export type Shape = { readonly [name: string]: Field };

type Infer<T> = T extends 'uint' | 'int'
  ? number
  : T extends 'str'
    ? string
    : T extends 'bool'
      ? boolean
      : T extends 'bytes'
        ? Uint8Array
        : T extends { readonly list: infer E }
          ? Infer<E>[]
          : T extends { readonly obj: infer S extends Shape }
            ? Body<S>
            : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type OptKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends readonly [number, FieldType, 'opt'] ? K : never;
}[keyof S];

/** The TypeScript type a shape describes. */
export type Body<S extends Shape> = Simplify<
  { -readonly [K in Exclude<keyof S, OptKeys<S>>]: Infer<S[K][1]> } & {
    -readonly [K in OptKeys<S>]?: Infer<S[K][1]>;
  }
>;

function fail(path: string, why: string): never {
  throw new ProtocolError(ErrorCode.BadBody, `${path}: ${why}`);
}

/** A lone (unpaired) UTF-16 surrogate: msgpack strings are UTF-8, which cannot represent one. */
const LONE_SURROGATE = /\p{Cs}/u;

function isShape(t: FieldType): t is { readonly obj: Shape } {
  return typeof t === 'object' && 'obj' in t;
}

function check(t: FieldType, v: unknown, path: string): unknown {
  switch (t) {
    case 'uint':
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(path, 'expected an unsigned integer');
      return v;
    case 'int':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(path, 'expected an integer');
      return v;
    case 'str':
      if (typeof v !== 'string') fail(path, 'expected a string');
      // Without this a lone surrogate is written as invalid UTF-8 (or silently replaced by U+FFFD in
      // strings over 50 units), which strict decoders on other platforms reject.
      if (LONE_SURROGATE.test(v)) fail(path, 'string has a lone surrogate (not valid UTF-8)');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') fail(path, 'expected a boolean');
      return v;
    case 'bytes':
      if (!(v instanceof Uint8Array)) fail(path, 'expected bytes');
      return v;
  }
  if (isShape(t)) return fromWire(t.obj, v, path);
  if (!Array.isArray(v)) fail(path, 'expected a list');
  return v.map((item, i) => check(t.list, item, `${path}[${i}]`));
}

function fromWire(shape: Shape, raw: unknown, path: string): Record<string, unknown> {
  if (!Array.isArray(raw)) fail(path, 'expected a field array');
  const out: Record<string, unknown> = {};
  for (const name in shape) {
    const [key, type, opt] = shape[name] as Field;
    const v: unknown = raw[key - 1];
    if (v === undefined || v === null) {
      if (opt !== 'opt') fail(`${path}.${name}`, 'missing');
      continue;
    }
    out[name] = check(type, v, `${path}.${name}`);
  }
  return out;
}

function toWireValue(t: FieldType, v: unknown, path: string): unknown {
  if (typeof t === 'string') return check(t, v, path);
  if (isShape(t)) return toWire(t.obj, v, path);
  if (!Array.isArray(v)) fail(path, 'expected a list');
  return v.map((item, i) => toWireValue(t.list, item, `${path}[${i}]`));
}

function toWire(shape: Shape, body: unknown, path: string): unknown[] {
  if (body === null || typeof body !== 'object') fail(path, 'expected an object');
  const src = body as Record<string, unknown>;
  const out: unknown[] = [];
  for (const name in shape) {
    const [key, type, opt] = shape[name] as Field;
    const v = src[name];
    if (v === undefined || v === null) {
      if (opt !== 'opt') fail(`${path}.${name}`, 'missing');
      continue;
    }
    while (out.length < key - 1) out.push(null);
    out[key - 1] = toWireValue(type, v, `${path}.${name}`);
  }
  return out;
}

/** Encodes `body` as described by `shape`. Throws {@link ProtocolError} (BAD_BODY) if it does not fit. */
export function encodeShape<S extends Shape>(shape: S, body: Body<S>, name = 'body'): Uint8Array {
  const wire = toWire(shape, body, name);
  return wire.length === 0 ? new Uint8Array(0) : encode(wire as Packable[]);
}

/**
 * Decodes bytes as described by `shape`: unknown trailing fields are skipped, missing required
 * fields and wrong types throw {@link ProtocolError} (BAD_BODY). An empty buffer has no fields.
 */
export function decodeShape<S extends Shape>(shape: S, bytes: Uint8Array, name = 'body'): Body<S> {
  let raw: unknown = [];
  if (bytes.length > 0) {
    try {
      raw = decode(bytes);
    } catch (e) {
      fail(name, `not valid msgpack (${(e as Error).message})`);
    }
  }
  return fromWire(shape, raw, name) as Body<S>;
}
