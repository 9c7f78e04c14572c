// The soak's fault-injecting TCP proxy on loopback: every client connection (WebSocket long link and
// HTTP short link alike) goes through it to the server. While faults are on it delays and stalls what
// it forwards, drops connections, resets them with RST in the middle of a frame, and on a share of
// the WebSocket connections (the WebSocket-aware mode) drops or duplicates whole WebSocket messages.
// Every connection draws its faults from its own generator, seeded from the run's seed and the
// connection's number, so the same seed makes the same decisions per connection as far as timing
// (how the bytes are chunked, which connection comes first) allows.
import { once } from 'node:events';
import { createServer, type Server, Socket } from 'node:net';
import { decodeFrames, opName } from '@synkey/protocol';
import { Rng } from './fuzz-corpus';
import { headEnd, isUpgradeRequest, isUpgradeResponse, WsFrameReader, WsOpcode, type WsUnit } from './soak-ws';

/** The kinds of fault the proxy injects. */
export const FAULT_KINDS = ['delay', 'stall', 'drop', 'reset', 'wsDrop', 'wsDup'] as const;
/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** How often each fault strikes. A range `[lo, hi]` is drawn uniformly. */
export interface FaultPlan {
  /** Chance, per forwarded piece (a TCP chunk, or a WebSocket frame in the WebSocket-aware mode), of a delay. */
  delay: number;
  delayMs: [number, number];
  /** Chance, per forwarded piece, that its direction stops forwarding for a while. */
  stall: number;
  stallMs: [number, number];
  /** Chance, per connection, that it is dropped (both sockets closed) this long after it opened. */
  drop: number;
  dropAfterMs: [number, number];
  /**
   * Chance, per connection, that it is reset after this many bytes were forwarded (both directions
   * counted): the piece that crosses the mark is cut short and both sockets are destroyed with RST.
   */
  reset: number;
  resetAfterBytes: [number, number];
  /** Share of the WebSocket connections whose frames are parsed (the WebSocket-aware mode). */
  wsAware: number;
  /** Chance, per text or binary message of a WebSocket-aware connection, that it is dropped whole. */
  wsDrop: number;
  /** Chance, per text or binary message of a WebSocket-aware connection, that it is sent twice. */
  wsDup: number;
}

/** What the proxy did. */
export interface ProxyStats {
  /** Connections accepted. */
  connections: number;
  /** Of them, WebSocket upgrades, and of those the ones handled in the WebSocket-aware mode. */
  websockets: number;
  wsAware: number;
  /** Connections closed because the server could not be reached (it was down). */
  upstreamRefused: number;
  /** Connections cut by {@link FaultProxy.cutAll} (not faults: the run's own reconnects). */
  cut: number;
  faults: Record<FaultKind, number>;
  /** Synkey frames inside the WebSocket messages dropped and duplicated, by op (`c>` client to server). */
  wsDroppedOps: Record<string, number>;
  wsDuplicatedOps: Record<string, number>;
  bytes: number;
}

/** Options of {@link FaultProxy.start}. */
export interface ProxyOptions {
  seed: number;
  /** The server's port on 127.0.0.1. */
  upstreamPort: number;
  plan: FaultPlan;
  /** The proxy's port; 0 picks a free one. */
  port?: number;
}

/** A plan with every fault off. */
export const NO_FAULTS: FaultPlan = {
  delay: 0,
  delayMs: [0, 0],
  stall: 0,
  stallMs: [0, 0],
  drop: 0,
  dropAfterMs: [0, 0],
  reset: 0,
  resetAfterBytes: [0, 0],
  wsAware: 0,
  wsDrop: 0,
  wsDup: 0,
};

const HIGH_WATER = 1 << 20;
const MAX_HEAD = 16 * 1024;
const bump = (m: Record<string, number>, k: string, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const draw = (rng: Rng, [lo, hi]: [number, number]) => rng.range(lo, hi);

/** The fault-injecting proxy. */
export class FaultProxy {
  readonly stats: ProxyStats = {
    connections: 0,
    websockets: 0,
    wsAware: 0,
    upstreamRefused: 0,
    cut: 0,
    faults: { delay: 0, stall: 0, drop: 0, reset: 0, wsDrop: 0, wsDup: 0 },
    wsDroppedOps: {},
    wsDuplicatedOps: {},
    bytes: 0,
  };
  /** Whether faults are injected; when turned off, pending connection fates are disarmed too. */
  private on = true;
  private readonly open = new Set<Link>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly options: ProxyOptions,
  ) {}

  /** Starts listening on 127.0.0.1. */
  static async start(options: ProxyOptions): Promise<FaultProxy> {
    const server = createServer({ noDelay: true });
    server.listen(options.port ?? 0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
    const proxy = new FaultProxy(server, address.port, options);
    server.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  /** `http://127.0.0.1:port`: the URL clients use instead of the server's. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Whether faults are being injected now. */
  get faultsOn(): boolean {
    return this.on;
  }

  /**
   * Turns faults on or off. Off, the proxy forwards everything at once, untouched, and no connection
   * is dropped or reset; turned on, the connections already open get their fates armed from then.
   */
  setFaults(on: boolean): void {
    this.on = on;
    for (const link of this.open) {
      if (on) link.arm();
      else link.disarm();
    }
  }

  /** Closes every open connection (not counted as a fault); returns how many. */
  cutAll(): number {
    const links = [...this.open];
    for (const link of links) link.destroy(false);
    this.stats.cut += links.length;
    return links.length;
  }

  /** Open connections. */
  get connections(): number {
    return this.open.size;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const link of [...this.open]) link.destroy(false);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const index = this.stats.connections++;
    // A generator per connection: its decisions do not depend on what other connections did.
    const rng = new Rng((Math.imul(this.options.seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(index, 0x85ebca6b)) >>> 0);
    const link = new Link(this, client, rng, this.options.plan);
    this.open.add(link);
    link.closed.then(() => this.open.delete(link));
  }

  /** @internal */
  count(kind: FaultKind): void {
    this.stats.faults[kind]++;
  }

  /** @internal */
  countOps(kind: 'wsDrop' | 'wsDup', direction: 'c>' | 's>', payload: Buffer): void {
    const into = kind === 'wsDrop' ? this.stats.wsDroppedOps : this.stats.wsDuplicatedOps;
    try {
      for (const f of decodeFrames(payload, { maxFrame: 1 << 30, maxFrames: 1 << 20 }))
        bump(into, `${direction}${opName(f.op)}`);
    } catch {
      bump(into, `${direction}(not frames)`);
    }
  }
}

/** One proxied connection: the client's socket, the server's, and a lane each way. */
class Link {
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private readonly upstream: Socket;
  private readonly up: Lane;
  private readonly down: Lane;
  private done = false;
  /** Forwarded bytes, both ways, for the reset fate. */
  private forwarded = 0;
  private resetAt: number | undefined;
  private dropTimer: ReturnType<typeof setTimeout> | undefined;
  /** Drawn when the connection opens, armed while faults are on. */
  private readonly fate: { kind: 'none' | 'drop' | 'reset'; dropAfterMs: number; resetAfterBytes: number };
  private armed = false;
  /** Set once the client's request head is read: a WebSocket upgrade, and whether its frames are parsed. */
  websocket = false;
  wsAware = false;

  constructor(
    readonly proxy: FaultProxy,
    readonly client: Socket,
    readonly rng: Rng,
    readonly plan: FaultPlan,
  ) {
    this.closed = new Promise((r) => {
      this.resolveClosed = r;
    });
    // The connection's fate is drawn first, always with the same draws, whether or not faults are on.
    const r = rng.next();
    this.fate = {
      kind: r < plan.drop ? 'drop' : r < plan.drop + plan.reset ? 'reset' : 'none',
      dropAfterMs: draw(rng, plan.dropAfterMs),
      resetAfterBytes: Math.max(1, draw(rng, plan.resetAfterBytes)),
    };
    this.wsAware = rng.chance(plan.wsAware);
    if (proxy.faultsOn) this.arm();
    this.upstream = new Socket();
    this.upstream.setNoDelay(true);
    client.setNoDelay(true);
    this.up = new Lane(this, client, this.upstream, 'c>', new Rng(rng.u32()));
    this.down = new Lane(this, this.upstream, client, 's>', new Rng(rng.u32()));
    client.on('error', () => this.destroy(false));
    this.upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (!this.up.connected && (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET')) proxy.stats.upstreamRefused++;
      this.destroy(false);
    });
    client.on('close', () => this.destroy(false));
    this.upstream.on('close', () => this.down.finish());
    this.upstream.connect(proxy.options.upstreamPort, '127.0.0.1', () => this.up.upstreamReady());
  }

  /** Arms the connection's fate: the drop timer runs from now, the reset counts bytes from now. */
  arm(): void {
    if (this.armed || this.done) return;
    this.armed = true;
    if (this.fate.kind === 'drop') {
      this.dropTimer = setTimeout(() => {
        if (!this.proxy.faultsOn || this.done) return;
        this.proxy.count('drop');
        this.destroy(false);
      }, this.fate.dropAfterMs);
    } else if (this.fate.kind === 'reset') this.resetAt = this.forwarded + this.fate.resetAfterBytes;
  }

  /** Disarms the fate (faults were turned off). */
  disarm(): void {
    this.armed = false;
    clearTimeout(this.dropTimer);
    this.resetAt = undefined;
  }

  /**
   * Writes `bytes` on `to`, unless this crosses the reset mark: then writes part of them and
   * resets the connection. Returns false when the connection is gone.
   */
  forward(to: Socket, bytes: Buffer): boolean {
    if (this.done) return false;
    if (this.resetAt !== undefined && this.proxy.faultsOn && this.forwarded + bytes.length >= this.resetAt) {
      const cut = Math.min(bytes.length - 1, Math.max(0, this.resetAt - this.forwarded));
      if (cut > 0) to.write(bytes.subarray(0, cut));
      this.proxy.count('reset');
      // Let the partial write reach the socket before the RST goes out.
      setImmediate(() => this.destroy(true));
      this.done = true;
      return false;
    }
    this.forwarded += bytes.length;
    this.proxy.stats.bytes += bytes.length;
    to.write(bytes);
    return true;
  }

  /** Closes both sockets; with `rst`, with a TCP reset. */
  destroy(rst: boolean): void {
    clearTimeout(this.dropTimer);
    this.done = true;
    for (const s of [this.client, this.upstream]) {
      if (s.destroyed) continue;
      if (rst && s.readyState !== 'opening') s.resetAndDestroy();
      else s.destroy();
    }
    this.up.stop();
    this.down.stop();
    this.resolveClosed();
  }

  get gone(): boolean {
    return this.done;
  }
}

type Piece = { bytes: Buffer; message?: { opcode: number; payload: Buffer } };

/** One direction of a {@link Link}: reads, cuts into pieces, and forwards them one at a time. */
class Lane {
  connected = false;
  private readonly pieces: Piece[] = [];
  private queued = 0;
  private running = false;
  private ended = false;
  /** Until the HTTP head has been read: its bytes. */
  private head: Buffer | null = Buffer.alloc(0);
  private reader: WsFrameReader | undefined;

  constructor(
    private readonly link: Link,
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly direction: 'c>' | 's>',
    private readonly rng: Rng,
  ) {
    from.on('data', (chunk: Buffer) => this.feed(chunk));
    from.on('end', () => this.finish());
    // The client's bytes wait until the server's socket is connected.
    if (direction === 'c>') from.pause();
    else this.connected = true;
  }

  upstreamReady(): void {
    this.connected = true;
    this.from.resume();
    void this.run();
  }

  /** The source ended: once the queue is out, end the other side. */
  finish(): void {
    this.ended = true;
    void this.run();
  }

  stop(): void {
    this.pieces.length = 0;
    this.queued = 0;
  }

  private feed(chunk: Buffer): void {
    if (this.link.gone) return;
    for (const piece of this.cut(chunk)) {
      this.pieces.push(piece);
      this.queued += piece.bytes.length;
    }
    if (this.queued > HIGH_WATER) this.from.pause();
    void this.run();
  }

  /** Cuts incoming bytes into pieces: the HTTP head whole, then TCP chunks or WebSocket frames. */
  private cut(chunk: Buffer): Piece[] {
    if (this.head === null) return this.reader ? this.units(this.reader.push(chunk)) : [{ bytes: chunk }];
    this.head = Buffer.concat([this.head, chunk]);
    const end = headEnd(this.head);
    if (end < 0) {
      if (this.head.length <= MAX_HEAD) return [];
      const all = this.head;
      this.head = null;
      return [{ bytes: all }];
    }
    const head = this.head.subarray(0, end);
    const rest = this.head.subarray(end);
    this.head = null;
    const text = head.toString('latin1');
    if (this.direction === 'c>' && isUpgradeRequest(text)) {
      this.link.websocket = true;
      this.link.proxy.stats.websockets++;
      if (this.link.wsAware) {
        this.link.proxy.stats.wsAware++;
        this.reader = new WsFrameReader(true);
      }
    } else if (this.direction === 's>' && this.link.websocket && this.link.wsAware && isUpgradeResponse(text)) {
      this.reader = new WsFrameReader(false);
    }
    const out: Piece[] = [{ bytes: head }];
    if (rest.length > 0) out.push(...(this.reader ? this.units(this.reader.push(rest)) : [{ bytes: rest }]));
    return out;
  }

  private units(units: WsUnit[]): Piece[] {
    return units.map((u) =>
      u.kind === 'message' ? { bytes: u.bytes, message: { opcode: u.opcode, payload: u.payload } } : { bytes: u.bytes },
    );
  }

  private async run(): Promise<void> {
    if (this.running || !this.connected) return;
    this.running = true;
    try {
      while (this.pieces.length > 0 && !this.link.gone) {
        const piece = this.pieces.shift() as Piece;
        this.queued -= piece.bytes.length;
        // The same draws for every piece, so that a decision does not shift the ones after it.
        const stall = this.rng.chance(this.link.plan.stall);
        const stallMs = draw(this.rng, this.link.plan.stallMs);
        const delay = this.rng.chance(this.link.plan.delay);
        const delayMs = draw(this.rng, this.link.plan.delayMs);
        const dropIt = this.rng.chance(this.link.plan.wsDrop);
        const dupIt = this.rng.chance(this.link.plan.wsDup);
        const proxy = this.link.proxy;
        if (proxy.faultsOn && stall) {
          proxy.count('stall');
          await sleep(stallMs);
        } else if (proxy.faultsOn && delay && delayMs > 0) {
          proxy.count('delay');
          await sleep(delayMs);
        }
        const message = piece.message;
        const data = message !== undefined && message.opcode !== WsOpcode.close;
        if (data && proxy.faultsOn && dropIt) {
          proxy.count('wsDrop');
          proxy.countOps('wsDrop', this.direction, message.payload);
          continue;
        }
        if (!this.link.forward(this.to, piece.bytes)) break;
        if (data && proxy.faultsOn && dupIt) {
          proxy.count('wsDup');
          proxy.countOps('wsDup', this.direction, message.payload);
          if (!this.link.forward(this.to, piece.bytes)) break;
        }
        if (this.to.writableNeedDrain)
          await Promise.race([once(this.to, 'drain').catch(() => undefined), this.link.closed]);
        if (this.queued < HIGH_WATER / 2 && this.from.isPaused() && this.connected) this.from.resume();
      }
      if (this.ended && this.pieces.length === 0 && !this.link.gone) {
        if (this.head && this.head.length > 0) this.link.forward(this.to, this.head);
        this.to.end();
      }
    } finally {
      this.running = false;
    }
  }
}
