// Vite does not minify the text inside Lit's `css`/`html`/`svg` template literals. This plugin does,
// at build time, conservatively: what renders stays exactly the same.
import { type Plugin, parseSync } from 'vite';

/** Stands for a `${…}` expression while a template's parts are minified as one text. */
const HOLE = '\u0000';

/** Splits minified text back into the template's parts, checking that no expression went missing. */
function split(text: string, count: number): string[] {
  const parts = text.split(HOLE);
  if (parts.length !== count) throw new Error(`template minifier lost an expression (${parts.length} of ${count})`);
  return parts;
}

/** Length of the quoted string starting at `text[at]`, escapes included (to the end if it is unclosed). */
function quoted(text: string, at: number): number {
  const quote = text[at];
  let i = at + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' ? 2 : 1;
  return Math.min(i + 1, text.length) - at;
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === '\f';

/**
 * Minifies the raw parts of a `css` template (the text between its `${…}` expressions): drops
 * comments, collapses whitespace, and removes it where CSS never needs it — around `{`, `}`, `;`, `,`
 * and after `:` (never before `:`, where `a :hover` differs from `a:hover`). Strings stay untouched.
 */
export function minifyCss(parts: readonly string[]): string[] {
  const src = parts.join(HOLE);
  let out = '';
  let i = 0;
  /** Whitespace: one space, unless it starts the text or follows a character that never needs one. */
  const space = () => {
    const last = out.at(-1);
    if (last !== undefined && last !== ' ' && !'{};,:'.includes(last)) out += ' ';
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const comment = src.slice(i, end < 0 ? src.length : end + 2);
      // A comment with an expression inside keeps it (and itself); otherwise it counts as whitespace.
      if (comment.includes(HOLE)) out += comment;
      else space();
      i += comment.length;
    } else if (c === '"' || c === "'") {
      const n = quoted(src, i);
      out += src.slice(i, i + n);
      i += n;
    } else if (isSpace(c)) {
      while (isSpace(src[i])) i++;
      space();
    } else {
      if ('{};,'.includes(c) && out.endsWith(' ')) out = out.slice(0, -1);
      if (c === '}' && out.endsWith(';')) out = out.slice(0, -1);
      out += c;
      i++;
    }
  }
  return split(out.trim(), parts.length);
}

/** Elements whose content is not collapsible markup. */
const RAW = /^(pre|textarea|script|style)$/i;

/**
 * Minifies the raw parts of an `html`/`svg` template the way a browser would read them: every run of
 * whitespace in text becomes one space (never none, so inline content keeps its gaps), whitespace
 * inside a tag becomes one space and goes before `>` and around `=`, and comments without expressions go. Attribute
 * values in quotes and the content of `<pre>`, `<textarea>`, `<script>` and `<style>` stay untouched.
 */
export function minifyHtml(parts: readonly string[]): string[] {
  const src = parts.join(HOLE);
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i + 4);
      const comment = src.slice(i, end < 0 ? src.length : end + 3);
      if (comment.includes(HOLE)) out += comment;
      i += comment.length;
    } else if (c === '<' && /[a-zA-Z/]/.test(src[i + 1] ?? '')) {
      const name = /^<\/?([a-zA-Z][\w-]*)/.exec(src.slice(i))?.[1] ?? '';
      const closing = src[i + 1] === '/';
      out += '<';
      i++;
      while (i < src.length && src[i] !== '>') {
        const t = src[i] as string;
        if (t === '"' || t === "'") {
          const n = quoted(src, i);
          out += src.slice(i, i + n);
          i += n;
        } else if (isSpace(t)) {
          while (isSpace(src[i])) i++;
          const next = src[i];
          // Kept before `/>`: after an unquoted value, `/` would join the value.
          if (next !== '>' && next !== '=' && !out.endsWith('=')) out += ' ';
        } else {
          out += t;
          i++;
        }
      }
      if (i < src.length) {
        out += '>';
        i++;
      }
      if (!closing && RAW.test(name)) {
        const end = src.slice(i).search(new RegExp(`</${name}`, 'i'));
        const stop = end < 0 ? src.length : i + end;
        out += src.slice(i, stop);
        i = stop;
      }
    } else if (isSpace(c)) {
      while (isSpace(src[i])) i++;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return split(out, parts.length);
}

/** A node of the parser's AST, as far as the walk needs it. */
interface Node {
  type?: string;
  [key: string]: unknown;
}

interface Quasi {
  start: number;
  end: number;
  value: { raw: string };
}

/** The tag functions whose templates get minified, and how. */
const MINIFIERS: Record<string, (parts: readonly string[]) => string[]> = {
  css: minifyCss,
  html: minifyHtml,
  svg: minifyHtml,
};

/** Every `css`/`html`/`svg` tagged template in `node`, outermost first. */
function collect(node: unknown, found: { tag: string; quasis: Quasi[] }[]): void {
  if (Array.isArray(node)) {
    for (const child of node) collect(child, found);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const n = node as Node;
  if (n.type === 'TaggedTemplateExpression') {
    const tag = n.tag as Node;
    const name = tag.type === 'Identifier' ? (tag.name as string) : '';
    if (MINIFIERS[name]) found.push({ tag: name, quasis: (n.quasi as { quasis: Quasi[] }).quasis });
  }
  for (const key in n) if (key !== 'parent') collect(n[key], found);
}

/**
 * Minifies the Lit templates in one module's source. Returns the new code, or undefined when there
 * is nothing to minify.
 */
export function minifyTemplates(code: string, filename: string): string | undefined {
  if (!/\b(css|html|svg)`/.test(code)) return undefined;
  const ast = parseSync(filename, code, { lang: filename.endsWith('.ts') ? 'ts' : 'js' });
  if (ast.errors.length > 0) throw new Error(`cannot parse ${filename}: ${ast.errors[0]?.message}`);
  const found: { tag: string; quasis: Quasi[] }[] = [];
  collect(ast.program, found);
  const edits: { start: number; end: number; text: string }[] = [];
  for (const { tag, quasis } of found) {
    const parts = (MINIFIERS[tag] as (parts: readonly string[]) => string[])(quasis.map((q) => q.value.raw));
    quasis.forEach((q, k) => {
      // The element's span includes the backtick or `}` before the text.
      const start = q.start + 1;
      const end = start + q.value.raw.length;
      if (code.slice(start, end) !== q.value.raw) throw new Error(`${filename}: template text not where expected`);
      if (parts[k] !== q.value.raw) edits.push({ start, end, text: parts[k] as string });
    });
  }
  if (edits.length === 0) return undefined;
  edits.sort((a, b) => b.start - a.start);
  let out = code;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** The Vite plugin: minifies Lit templates in our own TypeScript sources (not in node_modules). */
export function litTemplates(): Plugin {
  return {
    name: 'synkey:minify-lit-templates',
    enforce: 'pre',
    apply: 'build',
    transform(code, id) {
      if (id.includes('/node_modules/') || !/\.[jt]s$/.test(id)) return null;
      const out = minifyTemplates(code, id);
      return out === undefined ? null : { code: out, map: null };
    },
  };
}
