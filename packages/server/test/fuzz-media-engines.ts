// Well-behaved clients for the media fuzzer: two real SDK engines in a direct conversation. One sends
// images (sendImage, chunked uploads in parallel), voice notes (sendVoice, parts over the link) and
// text the whole time; the other must receive each with its media and fetch the file. Any failed
// message, engine error, dropped link or item not through within the deadline is a violation.
import { createHash } from 'node:crypto';
import { ConvKind, type Media, MsgKind } from '@synkey/protocol';
import { createEngine, type Engine, type EngineEvent } from '@synkey/sdk';
import sharp from 'sharp';
import WebSocket from 'ws';
import { mintToken } from '../src/auth';
import type { Rng } from './fuzz-corpus';

/** What the well-behaved engines did. */
export interface WellBehavedReport {
  images: number;
  voice: number;
  texts: number;
  acked: number;
  received: number;
  /** Files the recipient fetched and found of the size its media says. */
  fetched: number;
  linkDrops: number;
}

interface Item {
  kind: number;
  cmid: string;
  label: string;
  at: number;
  acked: boolean;
  received: boolean;
  fetched: boolean;
  /** `sha256:size` of an image, registered as stored once acked. */
  digest?: string;
  mediaId?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Two engines chatting with media; see the file comment. */
export class MediaChat {
  readonly items: Item[] = [];
  linkDrops = 0;
  private readonly byCmid = new Map<string, Item>();
  private readonly byLabel = new Map<string, Item>();
  private readonly byMedia = new Map<string, Item>();
  /** Media the recipient got before the sender's engine said which message it belongs to. */
  private readonly arrived = new Map<string, Media>();
  private readonly reported = new Set<Item>();
  private sender!: Engine;
  private receiver!: Engine;
  private conv = 0;
  private running = true;
  private online = [false, false];
  private loop: Promise<void> = Promise.resolve();
  private readonly fetches = new Set<Promise<void>>();

  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly users: [string, string],
    private readonly rng: Rng,
    private readonly deadlineMs: number,
    private readonly violation: (v: string) => void,
    /** Called with an image's media (and its source digest) once stored, and with every media id seen. */
    private readonly onMedia: (owner: string, media: Media, digest?: string) => void,
  ) {}

  async start(): Promise<void> {
    const engines = this.users.map((user, i) => {
      const engine = createEngine({
        server: this.url,
        getToken: () => mintToken(this.secret, user),
        WebSocket,
        transport: 'ws',
        deviceId: `${user}-engine`,
        reconnectPolicy: { minMs: 50, maxMs: 400 },
        media: { chunkSize: 64 * 1024, concurrency: 3 },
      });
      engine.subscribe((e) => this.onEvent(i, e));
      return engine;
    });
    [this.sender, this.receiver] = engines as [Engine, Engine];
    this.conv = (await this.sender.createConversation({ kind: ConvKind.Direct, members: [this.users[1]] })).id;
    const deadline = Date.now() + this.deadlineMs;
    while (!this.online.every(Boolean)) {
      if (Date.now() > deadline) throw new Error('the SDK engines did not come online');
      await sleep(20);
    }
    this.loop = this.sendLoop();
  }

  private onEvent(i: number, e: EngineEvent): void {
    const user = this.users[i]!;
    if (e.type === 'connection') {
      if (e.state === 'online') this.online[i] = true;
      else if (this.online[i]) {
        this.online[i] = false;
        this.linkDrops++;
        this.violation(`well-behaved ${user}: link went ${e.state}`);
      }
    } else if (e.type === 'error') this.violation(`well-behaved ${user}: engine error ${e.error.message}`);
    else if (e.type === 'messages') {
      for (const m of e.messages) {
        if (i === 0 && m.cmid) {
          const item = this.byCmid.get(m.cmid);
          if (!item) continue;
          if (m.state === 'failed') this.violation(`well-behaved: ${item.label} failed (${m.error})`);
          if (m.media && !item.mediaId) {
            item.mediaId = m.media.id;
            this.byMedia.set(m.media.id, item);
            const early = this.arrived.get(m.media.id);
            if (early) this.receive(item, early);
          }
          if (m.state !== 'sending' && m.state !== 'failed' && !item.acked) {
            item.acked = true;
            if (m.media) this.onMedia(this.users[0], m.media, item.digest);
          }
        } else if (i === 1 && m.sender === this.users[0] && m.id !== undefined) {
          if (m.media) {
            const item = this.byMedia.get(m.media.id);
            if (item) this.receive(item, m.media);
            else this.arrived.set(m.media.id, m.media);
          } else {
            const item = this.byLabel.get(m.text ?? '');
            if (item) this.receive(item, undefined);
          }
        }
      }
    }
  }

  private receive(item: Item, media: Media | undefined): void {
    if (item.received) return;
    item.received = true;
    if (item.kind !== MsgKind.Text) this.fetch(item, media);
  }

  /** The recipient fetches the file (and an image's thumbnail) and checks its size. */
  private fetch(item: Item, media: Media | undefined): void {
    if (!media) {
      this.violation(`well-behaved: ${item.label} arrived without its media`);
      return;
    }
    const p = (async () => {
      try {
        const file = await this.receiver.mediaFile(media.id);
        if (file.size !== media.size)
          this.violation(`well-behaved: ${item.label}: fetched ${file.size} bytes, media says ${media.size}`);
        if (item.kind === MsgKind.Image) {
          const thumb = await this.receiver.mediaFile(media.id, 'thumb');
          if (thumb.size === 0 || !thumb.type.startsWith('image/'))
            this.violation(`well-behaved: ${item.label}: thumbnail ${thumb.type} of ${thumb.size} bytes`);
        }
        item.fetched = true;
      } catch (e) {
        this.violation(`well-behaved: ${item.label}: fetching its media failed: ${(e as Error).message}`);
      }
    })();
    this.fetches.add(p);
    void p.finally(() => this.fetches.delete(p));
  }

  private async sendLoop(): Promise<void> {
    let n = 0;
    while (this.running) {
      const outstanding = this.items.filter((s) => !s.acked).length;
      if (outstanding < 3) {
        n++;
        const pick = this.rng.weighted<number>([
          [5, MsgKind.Image],
          [2, MsgKind.Voice],
          [3, MsgKind.Text],
        ]);
        const label = `wb ${n} ${pick === MsgKind.Image ? 'image' : pick === MsgKind.Voice ? 'voice note' : 'text'}`;
        const item: Item = {
          kind: pick,
          cmid: '',
          label,
          at: Date.now(),
          acked: false,
          received: false,
          fetched: false,
        };
        this.byLabel.set(label, item);
        try {
          if (pick === MsgKind.Image) {
            const side = this.rng.range(60, 260);
            const png = await sharp(this.rng.bytes(side * side * 3), {
              raw: { width: side, height: side, channels: 3 },
            })
              .png({ compressionLevel: 0 })
              .toBuffer();
            item.digest = `${createHash('sha256').update(png).digest('hex')}:${png.length}`;
            item.cmid = await this.sender.sendImage(this.conv, new Blob([png], { type: 'image/png' }), {
              caption: label,
              name: `wb-${n}.png`,
            });
          } else if (pick === MsgKind.Voice) {
            const note = new Uint8Array(this.rng.range(2000, 40_000));
            note.set([0x1a, 0x45, 0xdf, 0xa3]);
            note.set(this.rng.bytes(note.length - 4), 4);
            item.cmid = await this.sender.sendVoice(this.conv, new Blob([note], { type: 'audio/webm' }), 1500);
          } else item.cmid = await this.sender.send(this.conv, { text: label });
          this.byCmid.set(item.cmid, item);
          this.items.push(item);
        } catch (e) {
          this.violation(`well-behaved: ${label} refused by the engine: ${(e as Error).message}`);
        }
      }
      this.checkStalls();
      await sleep(this.rng.range(80, 300));
    }
  }

  private checkStalls(): void {
    const now = Date.now();
    for (const s of this.items) {
      if (now - s.at < this.deadlineMs || this.reported.has(s)) continue;
      const missing = !s.acked
        ? 'acknowledged'
        : !s.received
          ? 'received'
          : s.kind !== MsgKind.Text && !s.fetched
            ? 'fetched'
            : '';
      if (!missing) continue;
      this.reported.add(s);
      this.violation(`well-behaved: ${s.label} not ${missing} within ${this.deadlineMs} ms`);
    }
  }

  /** Stops sending; waits for everything sent to be acked, received and fetched. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    const deadline = Date.now() + this.deadlineMs;
    const pending = () => this.items.filter((s) => !this.done(s));
    while (pending().length > 0 && Date.now() < deadline) await sleep(50);
    await Promise.all(this.fetches);
    for (const s of pending())
      if (!this.reported.has(s))
        this.violation(
          `well-behaved: ${s.label} never got through (acked ${s.acked}, received ${s.received}, fetched ${s.fetched})`,
        );
  }

  private done(s: Item): boolean {
    return s.acked && s.received && (s.kind === MsgKind.Text || s.fetched);
  }

  report(): WellBehavedReport {
    const k = (kind: number) => this.items.filter((s) => s.kind === kind).length;
    return {
      images: k(MsgKind.Image),
      voice: k(MsgKind.Voice),
      texts: k(MsgKind.Text),
      acked: this.items.filter((s) => s.acked).length,
      received: this.items.filter((s) => s.received).length,
      fetched: this.items.filter((s) => s.fetched).length,
      linkDrops: this.linkDrops,
    };
  }

  async close(): Promise<void> {
    this.running = false;
    this.online = [false, false];
    await Promise.all([this.sender?.close(), this.receiver?.close()]);
  }
}
