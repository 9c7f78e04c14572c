import { langOf, pickLocale } from './locale-tag';
import { en, type Strings } from './locales/en';

export { langOf, pickLocale };

/** A key of the string tables. */
export type Key = keyof Strings;

/** The string tables loaded so far; English is built in, the others load on first use. */
const TABLES: Record<string, Strings> = { en };
const LOADERS: Record<string, () => Promise<Strings>> = {
  'zh-CN': () => import('./locales/zh-CN').then((m) => m.zhCN),
  ko: () => import('./locales/ko').then((m) => m.ko),
};
const DAY_MS = 86_400_000;

const dayKey = (d: Date) => d.getFullYear() * 10_000 + d.getMonth() * 100 + d.getDate();
/** Whole local days between `ts` and `now` (0: today, 1: yesterday). */
function daysAgo(ts: number, now: number): number {
  const a = new Date(ts);
  const b = new Date(now);
  if (dayKey(a) === dayKey(b)) return 0;
  const midnight = new Date(b.getFullYear(), b.getMonth(), b.getDate()).getTime();
  return Math.max(1, Math.ceil((midnight - ts) / DAY_MS));
}

/** Whether the strings of `tag`'s locale are loaded, so `new I18n(tag)` speaks it. */
export function hasLocale(tag: string | null | undefined): boolean {
  return pickLocale(tag) in TABLES;
}

/**
 * Loads the strings of `tag`'s locale (a separate chunk, except English) and resolves its I18n.
 * Rejects when the chunk cannot be fetched; `new I18n(tag)` then speaks English.
 */
export async function loadLocale(tag: string | null | undefined): Promise<I18n> {
  const locale = pickLocale(tag);
  TABLES[locale] ??= await (LOADERS[locale] as () => Promise<Strings>)();
  return new I18n(locale);
}

/** Strings and date formats of one locale. */
export class I18n {
  /** The supported locale the strings come from (`en`, `zh-CN`, `ko`): English until the locale's strings are loaded. */
  readonly locale: string;
  private readonly s: Strings;
  private readonly fmt: Record<'time' | 'day' | 'dayYear' | 'weekday' | 'date' | 'dateYear', Intl.DateTimeFormat>;

  /** The strings of `tag`'s locale if they are loaded ({@link loadLocale}), else English. */
  constructor(tag: string) {
    const locale = pickLocale(tag);
    this.locale = locale in TABLES ? locale : 'en';
    this.s = TABLES[this.locale] ?? en;
    const f = (o: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat(this.locale, o);
    this.fmt = {
      time: f({ hour: 'numeric', minute: '2-digit' }),
      day: f({ weekday: 'long', month: 'long', day: 'numeric' }),
      dayYear: f({ year: 'numeric', month: 'long', day: 'numeric' }),
      weekday: f({ weekday: 'short' }),
      date: f({ month: 'numeric', day: 'numeric' }),
      dateYear: f({ year: 'numeric', month: 'numeric', day: 'numeric' }),
    };
  }

  /** The string for `key`, with `{name}` placeholders filled from `vars`. */
  t(key: Key, vars?: Record<string, string | number>): string {
    const s = this.s[key];
    return vars ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m)) : s;
  }

  /** A clock time, e.g. "2:05 PM" / "14:05" / "오후 2:05". */
  time(ts: number): string {
    return this.fmt.time.format(ts);
  }

  /** A day separator: Today, Yesterday, or the date. */
  day(ts: number, now = Date.now()): string {
    const ago = daysAgo(ts, now);
    if (ago === 0) return this.s.today;
    if (ago === 1) return this.s.yesterday;
    return (new Date(ts).getFullYear() === new Date(now).getFullYear() ? this.fmt.day : this.fmt.dayYear).format(ts);
  }

  /** A compact time for the conversation list: the time today, Yesterday, a weekday this week, else the date. */
  when(ts: number, now = Date.now()): string {
    const ago = daysAgo(ts, now);
    if (ago === 0) return this.time(ts);
    if (ago === 1) return this.s.yesterday;
    if (ago < 7) return this.fmt.weekday.format(ts);
    return (new Date(ts).getFullYear() === new Date(now).getFullYear() ? this.fmt.date : this.fmt.dateYear).format(ts);
  }
}

/** True when two timestamps fall on the same local day. */
export function sameDay(a: number, b: number): boolean {
  return dayKey(new Date(a)) === dayKey(new Date(b));
}
