import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** A row of a windowed list; `key` is stable for the row's life (it anchors the scroll position). */
export interface Row {
  key: string;
}

/** Options of {@link VirtualWindow}. */
export interface WindowOptions<R extends Row> {
  /** The scroll container. It holds two spacer elements (`.pad`) around the rendered rows (`[data-k]`). */
  scroller(): HTMLElement | null | undefined;
  /** A height guess for a row that was never rendered. */
  estimate(row: R): number;
  /** The view came near the oldest row: time to load older ones. */
  nearTop(): void;
  /**
   * Whether the view may be pinned to this row. A row whose key moves with what is added above
   * it (a day separator, which stays on top of older messages of its day) must not be.
   */
  pinnable?(row: R): boolean;
}

/** Pixels rendered beyond each edge of the viewport. */
const OVERSCAN = 600;
/** The most rows ever rendered at once. */
const MAX_ROWS = 100;
/** How close (in rows) the viewport may come to an edge of the window before it moves. */
const MARGIN = 3;
/** Within this distance of the end the view counts as "at the bottom" and follows new rows. */
const STICK = 40;

/**
 * Windowing for a list anchored at its bottom (a chat thread): only the rows near the viewport are
 * rendered, with spacers standing in for the others at their measured (or estimated) heights.
 *
 * It keeps the view still when rows are added above or re-measured: before any change it notes
 * which row is at the top of the viewport and how far into it the view starts; after rendering it
 * measures the rendered rows and puts that row back where it was. While the view is at the bottom
 * it follows new rows instead. Call {@link setRows} from `willUpdate`; render
 * {@link visible} between the two spacers.
 */
export class VirtualWindow<R extends Row> implements ReactiveController {
  rows: readonly R[] = [];
  start = 0;
  end = 0;
  /** The view is at the newest row and follows new ones. */
  atBottom = true;
  private readonly heights = new Map<string, number>();
  private index = new Map<string, number>();
  private offsets: number[] = [0];
  private anchor: { key: string; delta: number } | undefined;
  /** toBottom() asked for the bottom: the scroll position does not say so yet. */
  private forced = false;
  private observer: ResizeObserver | undefined;
  private watched: HTMLElement | undefined;
  private width = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly o: WindowOptions<R>,
  ) {
    host.addController(this);
  }

  /** The rows to render, oldest first. */
  visible(): readonly R[] {
    return this.rows.slice(this.start, this.end);
  }

  /** Replaces the rows (keys of rows that stay must not change). */
  setRows(rows: readonly R[]): void {
    if (rows === this.rows) return;
    this.sync();
    if (!this.atBottom) this.anchor ??= this.topAnchor();
    this.rows = rows;
    this.index = new Map(rows.map((r, i) => [r.key, i]));
    this.measureAll();
    this.place();
  }

  /** Jumps to the newest row and follows new ones. */
  toBottom(): void {
    this.atBottom = this.forced = true;
    this.anchor = undefined;
    this.place();
    this.host.requestUpdate();
  }

  /** Forgets every measured height (the rows' layout changed, e.g. another language). */
  remeasure(): void {
    this.heights.clear();
    this.measureAll();
  }

  hostConnected(): void {
    this.observer = new ResizeObserver(() => this.resized());
  }

  hostDisconnected(): void {
    this.observer?.disconnect();
    this.observer = this.watched = undefined;
  }

  hostUpdate(): void {
    this.sync();
    // Whatever this update changes, the row at the top of the viewport stays where it is.
    if (!this.atBottom) this.anchor ??= this.topAnchor();
  }

  hostUpdated(): void {
    const s = this.o.scroller();
    if (!s) return;
    if (s !== this.watched) {
      this.watched = s;
      s.addEventListener('scroll', this.onScroll, { passive: true });
      this.observer?.observe(s);
    }
    if (s.clientHeight === 0) return;
    let changed = false;
    for (const el of s.querySelectorAll<HTMLElement>('[data-k]')) {
      const h = el.getBoundingClientRect().height;
      const k = el.dataset.k as string;
      if (h > 0 && Math.abs((this.heights.get(k) ?? -1) - h) > 0.25) {
        this.heights.set(k, h);
        changed = true;
      }
    }
    if (changed) this.measureAll();
    const [top, bottom] = s.querySelectorAll<HTMLElement>('.pad');
    const total = this.offsets[this.rows.length] ?? 0;
    if (top) top.style.height = `${this.offsets[this.start] ?? 0}px`;
    if (bottom) bottom.style.height = `${total - (this.offsets[this.end] ?? total)}px`;
    const i = this.anchor ? this.index.get(this.anchor.key) : undefined;
    if (this.atBottom) s.scrollTop = s.scrollHeight;
    else if (this.anchor && i !== undefined) s.scrollTop = this.base(s) + (this.offsets[i] ?? 0) + this.anchor.delta;
    this.anchor = undefined;
    this.forced = false;
    this.check(s);
  }

  /**
   * Reads from the scroller whether the view is at the bottom: the user may have scrolled since the
   * last scroll event was handled, and following new rows then would undo their scroll.
   */
  private sync(): void {
    const s = this.o.scroller();
    if (!this.forced && s && s.clientHeight > 0) this.atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < STICK;
  }

  private onScroll = () => {
    const s = this.o.scroller();
    if (!s) return;
    const bottom = this.forced || s.scrollHeight - s.scrollTop - s.clientHeight < STICK;
    if (bottom !== this.atBottom) {
      this.atBottom = bottom;
      this.host.requestUpdate();
    }
    this.check(s);
  };

  /** Moves the window when the viewport nears one of its edges; asks for older rows near the top. */
  private check(s: HTMLElement): void {
    const n = this.rows.length;
    if (n === 0) return;
    const y = s.scrollTop - this.base(s);
    const first = this.at(y);
    const last = this.at(y + s.clientHeight);
    if ((this.start > 0 && first < this.start + MARGIN) || (this.end < n && last >= this.end - MARGIN)) {
      const anchor = this.pin(first, y);
      this.anchor = anchor;
      if (this.place()) this.host.requestUpdate();
      else if (this.anchor === anchor) this.anchor = undefined;
    }
    if (this.start === 0 && y < OVERSCAN) this.o.nearTop();
  }

  /** Chooses the rendered range around the anchor (or the bottom); returns whether it moved. */
  private place(): boolean {
    const n = this.rows.length;
    const s = this.o.scroller();
    const view = s?.clientHeight || 800;
    const total = this.offsets[n] ?? 0;
    let top = total - view;
    if (!this.atBottom) {
      const a = this.anchor ?? (s ? this.topAnchor() : undefined);
      const i = a ? this.index.get(a.key) : undefined;
      if (a && i !== undefined) top = (this.offsets[i] ?? 0) + a.delta;
    }
    let start = this.at(top - OVERSCAN);
    let end = Math.min(n, this.at(top + view + OVERSCAN) + 1);
    if (end - start > MAX_ROWS) {
      const mid = this.at(top + view / 2);
      start = Math.max(0, Math.min(mid - MAX_ROWS / 2, n - MAX_ROWS));
      end = start + MAX_ROWS;
    }
    if (start === this.start && end === this.end) return false;
    this.start = start;
    this.end = end;
    return true;
  }

  /** The row at the top of the viewport and how far into it the viewport starts. */
  private topAnchor(): { key: string; delta: number } | undefined {
    const s = this.o.scroller();
    if (!s || this.rows.length === 0) return undefined;
    const y = s.scrollTop - this.base(s);
    return this.pin(this.at(y), y);
  }

  /** An anchor for the view at offset `y`: row `i`, or the first pinnable row after it. */
  private pin(i: number, y: number): { key: string; delta: number } {
    let j = i;
    while (j < this.rows.length - 1 && this.o.pinnable && !this.o.pinnable(this.rows[j] as R)) j++;
    return { key: (this.rows[j] as R).key, delta: y - (this.offsets[j] ?? 0) };
  }

  /** The index of the row that holds content offset `y` (clamped to the rows). */
  private at(y: number): number {
    let lo = 0;
    let hi = this.rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.offsets[mid] ?? 0) <= y) lo = mid;
      else hi = mid - 1;
    }
    return Math.max(0, lo);
  }

  /** Where the rows begin inside the scroller's content. */
  private base(s: HTMLElement): number {
    return s.querySelector<HTMLElement>('.pad')?.offsetTop ?? 0;
  }

  private measureAll(): void {
    const offsets = new Array<number>(this.rows.length + 1);
    offsets[0] = 0;
    this.rows.forEach((r, i) => {
      offsets[i + 1] = (offsets[i] as number) + (this.heights.get(r.key) ?? this.o.estimate(r));
    });
    this.offsets = offsets;
  }

  private resized(): void {
    const s = this.o.scroller();
    if (!s) return;
    if (s.clientWidth !== this.width) {
      if (this.width !== 0) this.heights.clear();
      this.width = s.clientWidth;
    }
    // Still at the bottom after the resize (the composer grew, say): stay there.
    if (this.atBottom) s.scrollTop = s.scrollHeight;
    else this.anchor ??= this.topAnchor();
    this.measureAll();
    this.place();
    this.host.requestUpdate();
  }
}
