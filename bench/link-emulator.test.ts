import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { carry, createLink, type Lane, laneOf, startLinkEmulator } from './link-emulator';

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

test('a shared lane carries bytes one after another: a second connection waits for the first, an idle lane starts at once', () => {
  const down = laneOf(1); // 1 Mbit/s: 125 bytes per ms
  assert.equal(carry(down, 0, 125_000), 1000);
  assert.equal(carry(down, 0, 125_000), 2000, 'handed over at the same time, it goes after the first');
  assert.equal(carry(down, 1500, 12_500), 2100, 'the lane is still busy at 1500');
  assert.equal(carry(down, 5000, 12_500), 5100, 'an idle lane carries from the time it is handed the bytes');
});

test('a link shares its lanes between proxies, and has a downlink only when given one', () => {
  const link = createLink({ rttMs: 100, upMbit: 1, downMbit: 5 });
  assert.equal(link.up.bytesPerMs, 125);
  assert.equal(link.down?.bytesPerMs, 625);
  assert.equal(createLink({ rttMs: 100, upMbit: 1 }).down, undefined);
});

test('through a limited downlink and a handshake the server’s bytes all reach the client, in order, and are counted', async () => {
  const sent = randomBytes(200_000);
  const source = createServer((s) => {
    s.once('data', () => s.end(sent));
  });
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  const counted = { up: 0, down: 0, connections: 0 };
  const shared = createLink({ rttMs: 10, upMbit: 10, downMbit: 20, handshake: true });
  const link = await startLinkEmulator((source.address() as { port: number }).port, shared, {
    onDeliver: (direction, chunk) => (counted[direction] += chunk.length),
    onConnection: () => counted.connections++,
  });
  const down = shared.down as Lane;
  const started = performance.now();
  try {
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = connect(link.port, '127.0.0.1', () => s.write('go'));
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
    });
    assert.ok(got.equals(sent));
    assert.deepEqual(counted, { up: 2, down: sent.length, connections: 1 });
    assert.ok(down.freeAt >= started + sent.length / down.bytesPerMs, 'the bytes went through the shared downlink');
  } finally {
    await link.close();
    source.close();
  }
});
