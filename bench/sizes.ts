import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const gz = (s: string | Buffer) => gzipSync(s, { level: 9 }).length;

/** The string literal starting at `code[at]` (a quote), as written in the source. */
function literalAt(code: string, at: number): string {
  const quote = code[at];
  let i = at + 1;
  while (i < code.length && code[i] !== quote) i += code[i] === '\\' ? 2 : 1;
  return code.slice(at, i + 1);
}

/**
 * Finds the inlined worker: Vite writes it as a string literal that goes into
 * `new Blob([…revokeObjectURL…, NAME])`. Returns the literal as written, or '' if absent.
 */
function inlinedWorker(code: string): string {
  const use = /new Blob\(\[[^\]]*?revokeObjectURL[^\]]*?,(\w+)\]/.exec(code);
  if (!use) return '';
  const def = new RegExp(`[,;{\\s]${use[1]}=(['"\`])`).exec(code);
  return def ? literalAt(code, def.index + def[0].length - 1) : '';
}

/** Sizes of the script-tag bundle: whole, its inlined worker, and the main-thread rest. */
export function measureSizes(file: string) {
  const code = readFileSync(file, 'utf8');
  const literal = inlinedWorker(code);
  // The literal is our own build output: evaluate it to get the worker's source text.
  const workerSource = literal ? (new Function(`return ${literal}`)() as string) : '';
  const main = literal ? code.replace(literal, "''") : code;
  return {
    whole: { raw: Buffer.byteLength(code), gzip: gz(code) },
    worker: { raw: Buffer.byteLength(workerSource), gzip: gz(workerSource) },
    main: { raw: Buffer.byteLength(main), gzip: gz(main) },
  };
}
