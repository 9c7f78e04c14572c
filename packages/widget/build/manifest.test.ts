import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Manifest, staticClosure } from './sizes';

const manifest: Manifest = {
  'src/main.ts': { file: 'main.js', isEntry: true, imports: ['_shared.js'], dynamicImports: ['src/panel.ts'] },
  'src/worker.ts': { file: 'worker.js', isEntry: true, imports: ['_engine.js'] },
  '_engine.js': { file: 'chunks/engine.js', name: 'engine', imports: ['_shared.js'] },
  '_shared.js': { file: 'chunks/shared.js', name: 'shared', imports: ['_engine.js'] },
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
