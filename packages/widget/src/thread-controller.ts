import type { ChatMessage, ClientEvent, SynkeyClient } from '@synkey/sdk';
import { withPositions } from '@synkey/sdk/core';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { byPosition, keyOf } from './model';

const PAGE = 50;
const RETRY_MS = 3000;

/**
 * One conversation's messages as the thread shows them: a contiguous run from the oldest loaded
 * page to the newest message (and the unsent ones), kept current from the engine's change events.
 * A change to a message older than the loaded run is ignored: its page brings the current state
 * when it is loaded. Events that arrive while a page is loading are applied after it.
 */
export class ThreadController implements ReactiveController {
  /** The messages in display order. A new array after every change. */
  list: ChatMessage[] = [];
  /** The newest page arrived. */
  loaded = false;
  /** Older messages exist that are not loaded. */
  hasMore = false;
  loadingOlder = false;
  /** Called with messages that arrived live (not from a loaded page). */
  onAdded: (messages: ChatMessage[]) => void = () => undefined;
  private readonly byKey = new Map<string, ChatMessage>();
  /** The lowest convSeq loaded: changes below it are not shown. */
  private floor = Number.POSITIVE_INFINITY;
  private held: ClientEvent[] | undefined;
  private client: SynkeyClient | undefined;
  private conv = 0;
  private lastSeq = 0;
  private stop: (() => void) | undefined;
  private gen = 0;
  private retryAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  /** Shows conversation `conv` of `client`; `lastSeq` is its newest position as the list knows it. */
  use(client: SynkeyClient | undefined, conv: number, lastSeq: number): void {
    if (client === this.client && conv === this.conv) return;
    this.detach();
    this.client = client;
    this.conv = conv;
    this.lastSeq = lastSeq;
    this.attach();
  }

  hostConnected(): void {
    this.attach();
  }

  hostDisconnected(): void {
    this.detach();
  }

  /** Loads the page before the oldest loaded message. */
  async loadOlder(): Promise<void> {
    const c = this.client;
    if (!c || !this.loaded || !this.hasMore || this.loadingOlder || this.held || Date.now() < this.retryAt) return;
    const gen = this.gen;
    this.loadingOlder = true;
    this.held = [];
    this.host.requestUpdate();
    let page: ChatMessage[] = [];
    try {
      page = await c.messages(this.conv, { before: this.floor, limit: PAGE });
    } catch {}
    if (gen !== this.gen) return;
    this.loadingOlder = false;
    const older = page.filter((m) => m.convSeq !== undefined && m.convSeq < this.floor);
    if (older.length === 0) this.retryAt = Date.now() + RETRY_MS;
    this.absorb(older);
  }

  private attach(): void {
    const c = this.client;
    if (!c || this.stop) return;
    const gen = ++this.gen;
    this.stop = c.subscribe((e) => {
      if (e.type === 'reset') this.reload(gen);
      else if ((e.type === 'messages' || e.type === 'positions') && e.conv === this.conv) {
        if (this.held) this.held.push(e);
        else this.publish(this.apply(e));
      }
    });
    this.reload(gen);
  }

  private detach(): void {
    this.stop?.();
    this.stop = undefined;
    this.gen++;
    clearTimeout(this.timer);
    this.byKey.clear();
    this.list = [];
    this.loaded = this.hasMore = this.loadingOlder = false;
    this.floor = Number.POSITIVE_INFINITY;
    this.held = undefined;
    this.retryAt = 0;
  }

  private reload(gen: number): void {
    const c = this.client;
    if (!c) return;
    this.held = [];
    c.messages(this.conv, { limit: PAGE }).then(
      (page) => {
        if (gen !== this.gen) return;
        this.byKey.clear();
        this.floor = this.lastSeq + 1;
        this.loaded = true;
        this.absorb(page);
      },
      () => {
        if (gen === this.gen) this.timer = setTimeout(() => this.reload(gen), RETRY_MS);
      },
    );
  }

  /** Adds a loaded page, then the events held while it loaded. */
  private absorb(page: ChatMessage[]): void {
    for (const m of page) {
      this.byKey.set(keyOf(m), m);
      if (m.convSeq !== undefined && m.convSeq < this.floor) this.floor = m.convSeq;
    }
    this.hasMore = this.floor > 1;
    const added = (this.held ?? []).flatMap((e) => this.apply(e));
    this.held = undefined;
    this.publish(added);
  }

  /** Merges a change event; returns the messages it added. */
  private apply(e: ClientEvent): ChatMessage[] {
    if (e.type === 'positions') {
      for (const [key, m] of this.byKey) this.byKey.set(key, withPositions(m, e.members, e.user));
      return [];
    }
    if (e.type !== 'messages') return [];
    const added: ChatMessage[] = [];
    for (const m of e.messages) {
      if (m.convSeq !== undefined && m.convSeq < this.floor) continue;
      const key = keyOf(m);
      if (!this.byKey.has(key)) added.push(m);
      this.byKey.set(key, m);
    }
    for (const cmid of e.removed) this.byKey.delete(`c:${cmid}`);
    return added;
  }

  private publish(added: ChatMessage[]): void {
    this.list = [...this.byKey.values()].sort(byPosition);
    this.host.requestUpdate();
    if (added.length > 0) this.onAdded(added);
  }
}
