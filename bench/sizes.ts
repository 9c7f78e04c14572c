import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const gz = (s: string | Buffer) => gzipSync(s, { level: 9 }).length;

/**
 * Sizes of the script-tag bundle: whole, its inlined worker (the string literal Vite embeds), and
 * the main-thread rest.
 */
export function measureSizes(file: string) {
  const code = readFileSync(file, 'utf8');
  const m = /const jsContent = ("(?:[^"\\]|\\.)*")/.exec(code);
  const workerSource = m ? (JSON.parse(m[1] as string) as string) : '';
  const main = m ? code.replace(m[1] as string, '""') : code;
  return {
    whole: { raw: Buffer.byteLength(code), gzip: gz(code) },
    worker: { raw: Buffer.byteLength(workerSource), gzip: gz(workerSource) },
    main: { raw: Buffer.byteLength(main), gzip: gz(main) },
  };
}
