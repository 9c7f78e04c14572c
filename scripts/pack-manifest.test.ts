import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBare, packageOf, publishManifest, rewriteDeclaration, specifiersOf } from './pack-manifest';

const sdk = {
  name: '@synkey/sdk',
  version: '0.1.0',
  license: 'MIT',
  dependencies: { '@synkey/protocol': '*', idb: '^8.0.4' },
  sideEffects: ['./src/browser/worker.ts'],
};
const versions = { '@synkey/protocol': '0.1.0', '@synkey/sdk': '0.1.0' };

test('the published manifest maps every subpath to its built module and declarations, and its side effects too', () => {
  const m = publishManifest(
    sdk,
    { entries: { '.': 'src/index.ts', './core': 'src/browser/core.ts' }, imports: ['@synkey/protocol'] },
    versions,
  );
  assert.deepEqual(m.exports, {
    '.': { types: './dist/index.d.ts', default: './dist/index.js' },
    './core': { types: './dist/browser/core.d.ts', default: './dist/browser/core.js' },
  });
  assert.equal(m.main, './dist/index.js');
  assert.equal(m.types, './dist/index.d.ts');
  assert.deepEqual(m.files, ['dist']);
  assert.deepEqual(m.sideEffects, ['./dist/browser/worker.js']);
  assert.equal(m.type, 'module');
});

test('dependencies are exactly the packages the build imports, with real ranges (a workspace sibling gets ^version)', () => {
  const m = publishManifest(
    sdk,
    { entries: { '.': 'src/index.ts' }, imports: ['@synkey/protocol', '@synkey/protocol', 'idb/with-async-ittr'] },
    versions,
  );
  assert.deepEqual(m.dependencies, { '@synkey/protocol': '^0.1.0', idb: '^8.0.4' });
  const none = publishManifest(sdk, { entries: { '.': 'src/index.ts' }, imports: [] }, versions);
  assert.equal(none.dependencies, undefined, 'a declared dependency the build never imports is left out');
});

test('an import that is not a dependency, or only has a `*` range, refuses to pack', () => {
  assert.throws(
    () => publishManifest(sdk, { entries: { '.': 'src/index.ts' }, imports: ['lit'] }, versions),
    /imports lit, which is not a dependency/,
  );
  assert.throws(
    () =>
      publishManifest(
        { ...sdk, dependencies: { ws: '*' } },
        { entries: { '.': 'src/index.ts' }, imports: ['ws'] },
        versions,
      ),
    /no publishable range \(\*\)/,
  );
});

test('package names and bare specifiers', () => {
  assert.equal(packageOf('lit/directives/repeat.js'), 'lit');
  assert.equal(packageOf('@synkey/sdk/core'), '@synkey/sdk');
  assert.deepEqual(['lit', '@synkey/sdk/core', './x', '../x', '/x', 'node:fs', 'https://x.test/a.js'].map(isBare), [
    true,
    true,
    false,
    false,
    false,
    false,
    false,
  ]);
});

test('declarations get explicit .js specifiers, lit-html becomes lit, and a missing sibling is an error', () => {
  const code = `import { a } from './a';
export * from './dir';
export type { B } from '../b.js';
declare const t: import("lit-html").TemplateResult<1>;
import type { C } from '@synkey/protocol';
`;
  const files: Record<string, string> = { './a': './a.js', './dir': './dir/index.js', '../b.js': '../b.js' };
  const out = rewriteDeclaration(code, (spec) => files[spec]);
  assert.deepEqual(specifiersOf(out), ['./a.js', './dir/index.js', '../b.js', 'lit', '@synkey/protocol']);
  assert.throws(() => rewriteDeclaration(`export * from './gone';`, () => undefined), /imports \.\/gone/);
});
