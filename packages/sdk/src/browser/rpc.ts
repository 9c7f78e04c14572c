// A small typed RPC over postMessage between the page and the engine's worker (or any two ends of a
// MessagePort): `expose` serves an object's methods on an endpoint, `wrap` calls them from the other
// end. Arguments and results are structured-cloned; a value marked with `proxy` (a callback, a
// session) crosses as a MessagePort and is called back through it. Errors keep their code.
import { ErrorCode, ProtocolError } from '@synkey/protocol/lite';
import { fromWireError, toWireError, type WireError } from './wire-error';

/** Either end of the conversation: a Worker, the worker's global scope, a MessagePort. */
export interface Endpoint {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  start?(): void;
}

/** The key of a remote's release method. */
export const releaseProxy: unique symbol = Symbol('synkey.release');

/** Something that can be released: a remote, as its holder sees it. */
export interface Releasable {
  /** Stops using the remote: its calls in flight and any later ones reject, the other end lets go. */
  [releaseProxy](): void;
}

type Promised<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

/** The other end's object (or function) as `wrap` returns it: every call answers a promise. */
export type Remote<T> = (T extends (...args: never[]) => unknown ? Promised<T> : unknown) & {
  [K in keyof T]: Promised<T[K]>;
} & Releasable;

/** A call: `c` its id, `n` the method (none: call the exposed function itself), `a` the arguments. */
interface Call {
  c: number;
  n?: string;
  a: unknown[];
  /** Which of `a` are MessagePorts standing for proxied values. */
  p: number[];
}
/** A call's answer: `a` holds the result, or `e` the error. */
interface Reply {
  r: number;
  a?: unknown[];
  p?: number[];
  e?: WireError;
}
/** Let go of the exposed object. */
interface Release {
  x: 1;
}

const proxied = new WeakSet<object>();
const transfers = new WeakMap<object, Transferable[]>();

/** Marks `value` (a function or an object of methods) to cross by reference, not by copy. */
export function proxy<T extends object>(value: T): T {
  proxied.add(value);
  return value;
}

/** Marks `value` to go with `list` (ArrayBuffers, ports…) transferred rather than copied. */
export function transfer<T extends object>(value: T, list: Transferable[]): T {
  transfers.set(value, list);
  return value;
}

const released = () => new ProtocolError(ErrorCode.Unavailable, 'the remote was released');

function close(ep: Endpoint): void {
  if (typeof MessagePort !== 'undefined' && ep instanceof MessagePort) ep.close();
}

/** Values about to be posted: a proxied one becomes a port to an `expose` of it. */
function pack(values: unknown[]): { a: unknown[]; p: number[]; t: Transferable[] } {
  const p: number[] = [];
  const t: Transferable[] = [];
  const a = values.map((v, i) => {
    if ((typeof v !== 'object' && typeof v !== 'function') || v === null) return v;
    if (proxied.has(v)) {
      const channel = new MessageChannel();
      expose(v, channel.port1);
      p.push(i);
      t.push(channel.port2);
      return channel.port2;
    }
    t.push(...(transfers.get(v) ?? []));
    return v;
  });
  return { a, p, t };
}

function unpack(values: unknown[] = [], ports: number[] = []): unknown[] {
  return values.map((v, i) => (ports.includes(i) ? wrap(v as MessagePort) : v));
}

/**
 * Serves `target`'s methods (or `target` itself, when it is a function) to the other end of `ep`
 * until that end releases it. A method's thrown error reaches the caller with its code.
 */
export function expose(target: object, ep: Endpoint = globalThis as unknown as Endpoint): void {
  const onMessage = async (event: MessageEvent) => {
    const m = event.data as Call | Release | null;
    if (m && 'x' in m) {
      ep.removeEventListener('message', onMessage);
      close(ep);
      return;
    }
    if (typeof m?.c !== 'number') return;
    try {
      const fn = m.n === undefined ? target : (target as Record<string, unknown>)[m.n];
      if (typeof fn !== 'function') throw new ProtocolError(ErrorCode.Invalid, `no method ${m.n}`);
      const { a, p, t } = pack([await fn.apply(target, unpack(m.a, m.p))]);
      ep.postMessage({ r: m.c, a, p } satisfies Reply, t);
    } catch (error) {
      ep.postMessage({ r: m.c, e: toWireError(error) } satisfies Reply, []);
    }
  };
  ep.addEventListener('message', onMessage);
  ep.start?.();
}

/**
 * The object (or function) the other end of `ep` exposes. Calls reject with the other end's error
 * (a {@link ProtocolError}), or with UNAVAILABLE once released. A remote is never thenable, so a
 * promise can resolve to one.
 */
export function wrap<T>(ep: Endpoint): Remote<T> {
  const pending = new Map<number, [resolve: (v: unknown) => void, reject: (e: unknown) => void]>();
  let next = 0;
  let done = false;
  const onMessage = (event: MessageEvent) => {
    const m = event.data as Reply | null;
    const call = typeof m?.r === 'number' ? pending.get(m.r) : undefined;
    if (!m || !call) return;
    pending.delete(m.r);
    if (m.e) call[1](fromWireError(m.e));
    else call[0](unpack(m.a, m.p)[0]);
  };
  ep.addEventListener('message', onMessage);
  ep.start?.();
  const invoke = (n: string | undefined, args: unknown[]) =>
    new Promise((resolve, reject) => {
      if (done) throw released();
      const c = ++next;
      const { a, p, t } = pack(args);
      pending.set(c, [resolve, reject]);
      try {
        ep.postMessage({ c, n, a, p } satisfies Call, t);
      } catch (error) {
        pending.delete(c);
        throw error;
      }
    });
  const release = () => {
    if (done) return;
    done = true;
    ep.removeEventListener('message', onMessage);
    ep.postMessage({ x: 1 } satisfies Release, []);
    for (const call of pending.values()) call[1](released());
    pending.clear();
  };
  return new Proxy(() => undefined, {
    get: (_, key) =>
      key === releaseProxy
        ? release
        : typeof key === 'symbol' || key === 'then'
          ? undefined
          : (...args: unknown[]) => invoke(key, args),
    apply: (_, __, args: unknown[]) => invoke(undefined, args),
  }) as unknown as Remote<T>;
}
