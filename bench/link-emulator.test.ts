import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { startLinkEmulator } from './link-emulator';

test('the link emulator carries every byte both ways, in order', async () => {
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const link = await startLinkEmulator((echo.address() as { port: number }).port, { rttMs: 10, upMbit: 50 });
  try {
    const sent = randomBytes(300_000);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const s = connect(link.port, '127.0.0.1', () => {
        for (let at = 0; at < sent.length; at += 7_000) s.write(sent.subarray(at, at + 7_000));
      });
      s.on('data', (d: Buffer) => {
        chunks.push(d);
        size += d.length;
        if (size >= sent.length) {
          s.end();
          resolve(Buffer.concat(chunks));
        }
      });
      s.on('error', reject);
    });
    assert.ok(got.equals(sent));
  } finally {
    await link.close();
    echo.close();
  }
});
