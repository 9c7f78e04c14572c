import type { ChatMessage, SynkeyClient } from '@synkey/sdk';
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** Only object URLs are ever bound to `src`: never a URL that a message could have carried. */
const blobOnly = (u: string | undefined) => (u?.startsWith('blob:') ? u : undefined);

/**
 * The picture URLs of one thread. A thumbnail is fetched (through `client.mediaUrl`, which caches it)
 * once its placeholder — an element with `data-media="<id>"` — comes within 300 px of the viewport.
 * My unsent images show their local file; that object URL is kept after the upload (no reload
 * flash) and revoked when the thread leaves the page.
 */
export class MediaUrls implements ReactiveController {
  client: SynkeyClient | undefined;
  private readonly thumbs = new Map<string, string>();
  private readonly locals = new Map<string, string>();
  private readonly loading = new Set<string>();
  private readonly fails = new Map<string, number>();
  private readonly watched = new Set<Element>();
  private io: IntersectionObserver | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly root: () => HTMLElement | null | undefined,
  ) {
    host.addController(this);
  }

  /** The URL to show for message `m` now: its local file, or its loaded thumbnail. */
  src(m: ChatMessage): string | undefined {
    const k = m.cmid;
    if (k !== undefined && !this.locals.has(k) && m.local) this.locals.set(k, URL.createObjectURL(m.local.file));
    return blobOnly((k !== undefined && this.locals.get(k)) || (m.media && this.thumbs.get(m.media.id)));
  }

  /** The full-size file of `m`: the local file, else `mediaUrl(media, 'full')`. */
  async full(m: ChatMessage): Promise<string> {
    this.src(m);
    const local = m.cmid !== undefined ? this.locals.get(m.cmid) : undefined;
    if (local) return local;
    if (!m.media || !this.client) throw new Error('no media');
    const u = blobOnly(await this.client.mediaUrl(m.media, 'full'));
    if (!u) throw new Error('not an object URL');
    return u;
  }

  hostDisconnected(): void {
    this.io?.disconnect();
    this.io = undefined;
    this.watched.clear();
    for (const u of this.locals.values()) URL.revokeObjectURL(u);
    this.locals.clear();
  }

  hostUpdated(): void {
    const root = this.root();
    if (!root) return;
    this.io ??= new IntersectionObserver((entries) => this.seen(entries), { root, rootMargin: '300px 0px' });
    const io = this.io;
    for (const el of this.watched) {
      if (!el.isConnected) {
        io.unobserve(el);
        this.watched.delete(el);
      }
    }
    for (const el of root.querySelectorAll('[data-media]')) {
      if (!this.watched.has(el)) {
        this.watched.add(el);
        io.observe(el);
      }
    }
  }

  private seen(entries: IntersectionObserverEntry[]): void {
    for (const e of entries) {
      const id = (e.target as HTMLElement).dataset.media;
      if (!e.isIntersecting || !id) continue;
      this.io?.unobserve(e.target);
      this.watched.delete(e.target);
      this.load(id);
    }
  }

  private load(id: string): void {
    const c = this.client;
    if (!c || this.loading.has(id) || this.thumbs.has(id)) return;
    this.loading.add(id);
    c.mediaUrl(id, 'thumb').then(
      (u: string) => {
        this.loading.delete(id);
        this.thumbs.set(id, u);
        this.host.requestUpdate();
      },
      () => this.fail(id),
    );
  }

  /** A thumbnail that would not display (its URL revoked from the client's cache, say): fetched again. */
  broken(m: ChatMessage): void {
    const id = m.media?.id;
    if (id === undefined || !this.thumbs.delete(id)) return;
    this.fail(id);
    this.host.requestUpdate();
  }

  /** Tries `id` again (up to 3 times, a little later each time) if its placeholder is still in view. */
  private fail(id: string): void {
    const n = (this.fails.get(id) ?? 0) + 1;
    this.fails.set(id, n);
    this.loading.add(id);
    if (n < 3) setTimeout(() => this.loading.delete(id) && this.host.requestUpdate(), n * 3000);
  }
}
