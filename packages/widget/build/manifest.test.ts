import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filesAtLoad, keyOf, type Manifest, staticClosure } from './manifest';

const manifest: Manifest = {
  'src/main.ts': { file: 'main.js', isEntry: true, imports: ['_shared.js'], dynamicImports: ['src/panel.ts'] },
  'src/worker.ts': { file: 'worker.js', isEntry: true, imports: ['_engine.js'] },
  '_engine.js': { file: 'chunks/engine.js', name: 'engine', imports: ['_shared.js'] },
  '_shared.js': { file: 'chunks/shared.js', name: 'shared', imports: ['_engine.js'] },
  '../sdk/src/browser/worker.ts': { file: 'worker.js', isEntry: true, imports: ['_engine.js'] },
  'src/embed.ts': { file: 'main.js', isEntry: true, imports: ['_shared.js'], dynamicImports: ['src/panel.ts'] },
  'src/panel.ts': { file: 'chunks/panel.js', imports: ['_shared.js'] },
};

test('a chunk loads itself and its static imports transitively, cycles once, but not its dynamic imports', () => {
  assert.deepEqual([...staticClosure(manifest, 'src/main.ts')].sort(), [
    'chunks/engine.js',
    'chunks/shared.js',
    'main.js',
  ]);
  assert.deepEqual([...staticClosure(manifest, 'src/panel.ts')].sort(), [
    'chunks/engine.js',
    'chunks/panel.js',
    'chunks/shared.js',
  ]);
  assert.deepEqual([...staticClosure(manifest, 'missing')], []);
});

test('keys are found by source path or by the name of a shared chunk, and a missing one is a clear error', () => {
  assert.equal(keyOf(manifest, 'panel.ts'), 'src/panel.ts');
  assert.equal(keyOf(manifest, 'engine'), '_engine.js');
  assert.throws(() => keyOf(manifest, 'nothing.ts'), /has no nothing\.ts/);
});

test('at load a page fetches the widget module and the worker module with their static imports, not the panel', () => {
  const { page, worker } = filesAtLoad(manifest);
  assert.deepEqual([...page].sort(), ['chunks/engine.js', 'chunks/shared.js', 'main.js']);
  assert.deepEqual([...worker].sort(), ['chunks/engine.js', 'chunks/shared.js', 'worker.js']);
});
