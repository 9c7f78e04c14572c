// `npm run pack`: builds the publishable npm packages @synkey/protocol, @synkey/sdk and
// @synkey/widget. In the monorepo every package exports its TypeScript source; published, each is
// ES modules (one file per source module, bare imports external) with `.d.ts` from the native tsc,
// in dist/npm/<dir>/ with its own package.json, packed to dist/npm/<name>-<version>.tgz.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { build, type Plugin, type Rolldown } from 'vite';
import {
  isBare,
  type PackagePlan,
  publishManifest,
  rewriteDeclaration,
  type SourceManifest,
  specifiersOf,
} from './pack-manifest';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'dist/npm');

/** The published packages, in dependency order: directory under packages/ and subpath → source entry. */
const PACKAGES: { dir: string; entries: Record<string, string> }[] = [
  { dir: 'protocol', entries: { '.': 'src/index.ts', './lite': 'src/lite.ts' } },
  {
    dir: 'sdk',
    entries: { '.': 'src/index.ts', './core': 'src/browser/core.ts', './worker': 'src/browser/worker.ts' },
  },
  { dir: 'widget', entries: { '.': 'src/index.ts' } },
];

/** One packed package. */
export interface Packed {
  name: string;
  version: string;
  /** The publish directory. */
  dir: string;
  /** The tarball `npm pack` wrote. */
  tarball: string;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** Every file under `dir` (relative paths, `/`-separated). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
}

const MARK = '__synkeyBuiltUrl__';

/**
 * Keeps `new URL('./worker.ts', import.meta.url)` pointing at the module's built file beside it
 * (`./worker.js`, as the output keeps the source layout) and out of reach of Vite's own worker
 * bundling, so the app's bundler (Vite, webpack) finds `new Worker(new URL('./worker.js',
 * import.meta.url))` and bundles the worker itself.
 */
function moduleUrls(): Plugin {
  return {
    name: 'synkey:pack-module-urls',
    enforce: 'pre',
    transform(code, id) {
      if (id.includes('/node_modules/') || !code.includes('import.meta.url')) return null;
      const out = code.replace(
        /new URL\(\s*(['"])(\.{1,2}\/[^'"]+)\.ts\1\s*,\s*import\.meta\.url\s*\)/g,
        (_, _q, path: string) => `new URL(${MARK}(${JSON.stringify(`${path}.js`)}), import.meta.url)`,
      );
      return out === code ? null : { code: out, map: null };
    },
    // Checked afterwards by checkModuleUrls: the file each URL names must be in the output.
    renderChunk(code) {
      return code.includes(MARK) ? code.replace(new RegExp(`${MARK}\\(("[^"]+")\\)`, 'g'), '$1') : null;
    },
  };
}

/** The bare specifiers (packages) a build's chunks import, statically or dynamically. */
function externalImports(outputs: Rolldown.RolldownOutput[]): string[] {
  const chunks = outputs.flatMap((o) => o.output).filter((c): c is Rolldown.OutputChunk => c.type === 'chunk');
  const own = new Set(chunks.map((c) => c.fileName));
  return chunks.flatMap((c) => [...c.imports, ...c.dynamicImports]).filter((s) => !own.has(s) && isBare(s));
}

/** Checks that every `new URL('./x.js', import.meta.url)` in the built files names a file that is there. */
function checkModuleUrls(dist: string): void {
  for (const file of filesUnder(dist).filter((f) => f.endsWith('.js'))) {
    const code = readFileSync(join(dist, file), 'utf8');
    if (code.includes(MARK)) throw new Error(`${file}: a module URL was left unresolved`);
    for (const m of code.matchAll(/new URL\(\s*"(\.{1,2}\/[^"]+)"\s*,\s*import\.meta\.url\s*\)/g)) {
      if (!existsSync(join(dist, dirname(file), m[1] as string))) throw new Error(`${file}: ${m[1]} is not built`);
    }
  }
}

/** Builds one package's JavaScript into `dist`; returns the packages it imports. */
async function buildJs(dir: string, entries: Record<string, string>, dist: string): Promise<string[]> {
  const pkgDir = join(ROOT, 'packages', dir);
  let result: Awaited<ReturnType<typeof build>>;
  if (dir === 'widget') {
    // The widget's own config (its Lit template minifier) has the npm build as SYNKEY_BUILD=module.
    process.env.SYNKEY_BUILD = 'module';
    result = await build({
      configFile: join(pkgDir, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: dist, emptyOutDir: true },
    });
    delete process.env.SYNKEY_BUILD;
  } else {
    result = await build({
      configFile: false,
      root: pkgDir,
      logLevel: 'warn',
      plugins: [moduleUrls()],
      build: {
        outDir: dist,
        emptyOutDir: true,
        copyPublicDir: false,
        target: 'es2022',
        minify: false,
        lib: {
          entry: Object.values(entries).map((e) => join(pkgDir, e)),
          formats: ['es'],
        },
        rollupOptions: {
          external: (id) => isBare(id),
          output: { preserveModules: true, preserveModulesRoot: join(pkgDir, 'src'), entryFileNames: '[name].js' },
        },
      },
    });
  }
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  checkModuleUrls(dist);
  return externalImports(outputs);
}

/** Emits one package's declarations with the native tsc into `dist`; returns the packages they import. */
function buildTypes(dir: string, dist: string): string[] {
  const tmp = mkdtempSync(join(tmpdir(), `synkey-dts-${dir}-`));
  try {
    const config = join(ROOT, 'packages', dir, 'tsconfig.dts.json');
    const tsc = spawnSync(
      join(ROOT, 'node_modules/.bin/tsc'),
      ['-p', config, '--noEmit', 'false', '--declaration', '--emitDeclarationOnly', '--outDir', tmp],
      { cwd: ROOT, encoding: 'utf8' },
    );
    if (tsc.status !== 0) throw new Error(`tsc could not emit the declarations of ${dir}:\n${tsc.stdout}${tsc.stderr}`);
    // rootDir is packages/, so the package's own declarations are under <tmp>/<dir>/src.
    const src = join(tmp, dir, 'src');
    const imports: string[] = [];
    for (const file of filesUnder(src).filter((f) => f.endsWith('.d.ts'))) {
      const from = posix.dirname(file);
      const code = rewriteDeclaration(readFileSync(join(src, file), 'utf8'), (spec) => {
        const base = posix.join(from, spec.replace(/\.js$/, ''));
        if (existsSync(join(src, `${base}.d.ts`))) return `${spec.replace(/\.js$/, '')}.js`;
        if (existsSync(join(src, base, 'index.d.ts'))) return `${spec.replace(/\/$/, '')}/index.js`;
        return undefined;
      });
      imports.push(...specifiersOf(code).filter(isBare));
      mkdirSync(join(dist, from), { recursive: true });
      writeFileSync(join(dist, file), code);
    }
    return imports;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Runs `npm pack` in `dir`, writing the tarball to OUT; returns its path. */
function npmPack(dir: string): string {
  const npm = spawnSync('npm', ['pack', '--json', '--pack-destination', OUT], { cwd: dir, encoding: 'utf8' });
  if (npm.status !== 0) throw new Error(`npm pack failed in ${dir}:\n${npm.stderr}`);
  const [info] = JSON.parse(npm.stdout) as { filename: string }[];
  if (!info) throw new Error(`npm pack wrote nothing for ${dir}`);
  return join(OUT, info.filename);
}

/** Builds and packs every package into dist/npm. */
export async function packAll(): Promise<Packed[]> {
  rmSync(OUT, { recursive: true, force: true });
  const manifests = PACKAGES.map((p) => readJson<SourceManifest>(join(ROOT, 'packages', p.dir, 'package.json')));
  const versions = Object.fromEntries(manifests.map((m) => [m.name, m.version]));
  const packed: Packed[] = [];
  for (const [i, { dir, entries }] of PACKAGES.entries()) {
    const source = manifests[i] as SourceManifest;
    const out = join(OUT, dir);
    const dist = join(out, 'dist');
    const imports = [...(await buildJs(dir, entries, dist)), ...buildTypes(dir, dist)];
    const plan: PackagePlan = { entries, imports };
    const manifest = publishManifest(source, plan, versions);
    for (const target of Object.values(manifest.exports as Record<string, Record<string, string>>))
      for (const file of Object.values(target))
        if (!existsSync(join(out, file))) throw new Error(`${source.name}: ${file} was not built`);
    writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const readme = join(ROOT, 'packages', dir, 'README.md');
    if (existsSync(readme)) cpSync(readme, join(out, 'README.md'));
    packed.push({ name: source.name, version: source.version, dir: out, tarball: npmPack(out) });
  }
  return packed;
}

if (import.meta.filename === process.argv[1]) {
  for (const p of await packAll()) {
    const size = readFileSync(p.tarball).length;
    console.log(`${p.name}@${p.version}  ${relative(ROOT, p.tarball)}  ${(size / 1024).toFixed(1)} KB`);
  }
}
