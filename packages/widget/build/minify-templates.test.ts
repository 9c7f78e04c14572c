import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { minifyCss, minifyHtml, minifyTemplates } from './minify-templates';

describe('minifyCss', () => {
  test('drops comments and the whitespace CSS never needs', () => {
    assert.deepEqual(
      minifyCss([
        `
  :host {
    /* the accent */
    color: var(--x, #fff);
    margin: 0 auto;
  }
  a,
  b > c {
    top: 0;
  }
`,
      ]),
      [':host{color:var(--x,#fff);margin:0 auto}a,b > c{top:0}'],
    );
  });

  test('keeps the space before a pseudo-class (a descendant) and inside calc() and strings', () => {
    assert.deepEqual(minifyCss(["a :hover { width: calc(1px + 2%); content: ' ·  /* x */ ' }"]), [
      "a :hover{width:calc(1px + 2%);content:' ·  /* x */ '}",
    ]);
  });

  test('keeps each expression where it was', () => {
    assert.deepEqual(minifyCss(['\n  :host {\n    ', '\n  }\n  @media (x: y) {\n    a { ', ' }\n  }\n']), [
      ':host{',
      '}@media (x:y){a{',
      '}}',
    ]);
  });
});

describe('minifyHtml', () => {
  test('turns every whitespace run in text into one space, so inline content keeps its gaps', () => {
    assert.deepEqual(minifyHtml(['<div>\n    <b>a</b>\n    ', ' ·\n    <i>b</i>\n  </div>']), [
      '<div> <b>a</b> ',
      ' · <i>b</i> </div>',
    ]);
  });

  test('tidies whitespace inside tags but leaves quoted attribute values alone', () => {
    assert.deepEqual(
      minifyHtml(['<button\n  class="a  b"\n  title = "x\n y"\n  @click=', '\n></button\n  ><span>x</span>']),
      ['<button class="a  b" title="x\n y" @click=', '></button><span>x</span>'],
    );
  });

  test('keeps the space before `/>` after an unquoted value (it would join the value)', () => {
    assert.deepEqual(minifyHtml(['<input value=', ' />']), ['<input value=', ' />']);
  });

  test('leaves the content of <pre> and <textarea> untouched', () => {
    assert.deepEqual(minifyHtml(['<pre>\n  a\n   b\n</pre>\n  <textarea\n  rows="1"\n>  x  </textarea>']), [
      '<pre>\n  a\n   b\n</pre> <textarea rows="1">  x  </textarea>',
    ]);
  });

  test('drops comments, unless an expression sits inside one', () => {
    assert.deepEqual(minifyHtml(['<p><!-- note -->a<!-- ', ' --></p>']), ['<p>a<!-- ', ' --></p>']);
  });

  test('leaves a lone `<` in text alone', () => {
    assert.deepEqual(minifyHtml(['1 <  2 and a<b']), ['1 < 2 and a<b']);
  });
});

describe('minifyTemplates', () => {
  test('rewrites the css, html and svg templates of a module, nested ones too, and nothing else', () => {
    const code = [
      'const s = css`\n  a {\n    top: 0;\n  }\n`;',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template
      "const t = html`<div>\n  ${x ? html`<b>\n  y</b>` : svg`<path   d='m'></path>`}\n</div>`;",
      'const u = `a   b`;',
      'const v = other`a   b`;',
    ].join('\n');
    assert.equal(
      minifyTemplates(code, 'x.ts'),
      [
        'const s = css`a{top:0}`;',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template
        "const t = html`<div> ${x ? html`<b> y</b>` : svg`<path d='m'></path>`} </div>`;",
        'const u = `a   b`;',
        'const v = other`a   b`;',
      ].join('\n'),
    );
  });

  test('returns undefined for a module without Lit templates', () => {
    assert.equal(minifyTemplates('const a = `x  y`;', 'x.ts'), undefined);
  });

  test('minifies every template of the widget and keeps every expression', () => {
    const dir = join(import.meta.dirname, '../src');
    let saved = 0;
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const code = readFileSync(join(dir, name), 'utf8');
      const out = minifyTemplates(code, name);
      if (out === undefined) continue;
      assert.equal(out.split('${').length, code.split('${').length, name);
      saved += code.length - out.length;
    }
    assert.ok(saved > 1000, `saved ${saved} characters`);
  });
});
