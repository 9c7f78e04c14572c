// Pure helpers of scripts/pack.ts: the published package.json, and the import specifiers of built files.

/** A workspace package.json, as far as packing reads it. */
export interface SourceManifest {
  name: string;
  version: string;
  description?: string;
  license?: string;
  dependencies?: Record<string, string>;
  sideEffects?: boolean | string[];
}

/** What one published package offers: its subpath exports and where their built files are. */
export interface PackagePlan {
  /** Subpath (`.`, `./core`) → the source entry it is built from (`src/browser/core.ts`). */
  entries: Record<string, string>;
  /** Bare specifiers the built JavaScript and declarations import (`lit/directives/repeat.js`, `@synkey/sdk`). */
  imports: Iterable<string>;
}

/** The package a bare specifier belongs to: `lit/directives/x.js` → `lit`, `@synkey/sdk/core` → `@synkey/sdk`. */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** True for a specifier that names a package (not `./x`, `/x`, `node:x` or a URL). */
export const isBare = (specifier: string): boolean =>
  !specifier.startsWith('.') && !specifier.startsWith('/') && !/^[a-z][\w+.-]*:/i.test(specifier);

/** `src/browser/core.ts` → `./dist/browser/core` (the built file, without its extension). */
const builtPath = (source: string) => `./dist/${source.replace(/^src\//, '').replace(/\.ts$/, '')}`;

/**
 * The package.json to publish: exports mapping `types` and `default` to the built files, only the
 * built files, side effects pointing at the built modules, and a real version range for every
 * package the built files import (a workspace sibling gets `^` its version). Throws when an import
 * is not a declared dependency of the source package or has no usable range.
 */
export function publishManifest(
  source: SourceManifest,
  plan: PackagePlan,
  workspaceVersions: Record<string, string>,
): Record<string, unknown> {
  const dependencies: Record<string, string> = {};
  for (const name of [...new Set([...plan.imports].map(packageOf))].sort()) {
    if (name === source.name) continue;
    const sibling = workspaceVersions[name];
    const declared = source.dependencies?.[name];
    const range = sibling !== undefined ? `^${sibling}` : declared;
    if (range === undefined) throw new Error(`${source.name}: its build imports ${name}, which is not a dependency`);
    if (range === '*' || range.startsWith('file:') || range.startsWith('workspace:'))
      throw new Error(`${source.name}: dependency ${name} has no publishable range (${range})`);
    dependencies[name] = range;
  }
  const exports: Record<string, { types: string; default: string }> = {};
  for (const [subpath, entry] of Object.entries(plan.entries)) {
    const path = builtPath(entry);
    exports[subpath] = { types: `${path}.d.ts`, default: `${path}.js` };
  }
  const main = exports['.'];
  const sideEffects = Array.isArray(source.sideEffects)
    ? source.sideEffects.map((p) => `${builtPath(p.replace(/^\.\//, ''))}.js`)
    : (source.sideEffects ?? true);
  return {
    name: source.name,
    version: source.version,
    ...(source.description ? { description: source.description } : {}),
    license: source.license ?? 'MIT',
    type: 'module',
    exports,
    ...(main ? { main: main.default, types: main.types } : {}),
    files: ['dist'],
    sideEffects,
    ...(Object.keys(dependencies).length > 0 ? { dependencies } : {}),
  };
}

/** Every module specifier in a declaration file: `from '…'`, `import '…'` and `import("…")`. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\2/g;

/** The module specifiers a declaration file imports or re-exports. */
export function specifiersOf(code: string): string[] {
  return [...code.matchAll(SPECIFIER)].map((m) => m[3] as string);
}

/**
 * Rewrites a declaration file's specifiers so it resolves under every `moduleResolution`:
 * `./apply` → `./apply.js` (or `./dir/index.js`), as `resolve` finds the sibling declaration; and
 * `lit-html` → `lit`, which re-exports all of it (tsc names Lit's template types by the package
 * that defines them, which the widget does not depend on). `resolve` returns undefined for a
 * relative specifier with no declaration in the package, and the rewrite throws.
 */
export function rewriteDeclaration(code: string, resolve: (relative: string) => string | undefined): string {
  return code.replace(SPECIFIER, (whole, lead: string, quote: string, spec: string) => {
    if (spec === 'lit-html') return `${lead}${quote}lit${quote}`;
    if (!spec.startsWith('.')) return whole;
    const to = resolve(spec);
    if (to === undefined) throw new Error(`a declaration imports ${spec}, which is not in the package`);
    return `${lead}${quote}${to}${quote}`;
  });
}
