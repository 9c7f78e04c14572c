import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConvKind, ErrorCode, frame, MsgKind, Op } from '@synkey/protocol';
import { parseOfflineQuery } from '../src/dev-offline';
import { mintToken, type RunningServer, startServer } from '../src/index';
import { postLink, RawClient } from './raw-client';

let server: RunningServer;
const token = (user: string) => mintToken(server.secret, user);
const offline = (user: string, on: string) =>
  fetch(`${server.url}/dev/offline?user=${user}&on=${on}`, { method: 'POST' });

before(async () => {
  server = await startServer({ port: 0, dev: true, secret: 'offline-test-secret', log: () => {} });
});
after(() => server.close());

test('the offline switch closes the user’s long links and refuses new ones with UNAVAILABLE until it is off', async () => {
  const { client } = await RawClient.login(server.wsUrl, await token('olive'));
  const other = await RawClient.login(server.wsUrl, await token('otto'));
  const res = await offline('olive', '1');
  assert.deepEqual(await res.json(), { user: 'olive', offline: true });
  const err = await client.next((g) => g.op === Op.ERROR);
  assert.equal(err.body.code, ErrorCode.Unavailable);
  await client.closed;
  assert.equal(server.connections('olive'), 0);
  assert.equal(server.connections('otto'), 1, 'other users keep their links');

  const refused = await RawClient.open(server.wsUrl);
  refused.sendRaw(frame(Op.AUTH, 1, { token: await token('olive'), device: 'd' }));
  const reply = await refused.next((g) => g.op === Op.ERROR);
  assert.deepEqual([reply.seq, reply.body.code, reply.body.fatal], [0, ErrorCode.Unavailable, true]);
  await refused.closed;
  const short = await postLink(server.url, [
    frame(Op.AUTH, 1, { token: await token('olive'), device: 'd' }),
    frame(Op.CONV_CREATE, 2, { kind: ConvKind.Direct, members: ['otto'] }),
  ]);
  assert.equal(short.got[0]?.body.code, ErrorCode.Unavailable);
  assert.equal(short.got.length, 1, 'nothing behind the refused AUTH ran');
  assert.deepEqual(await (await fetch(`${server.url}/dev/offline?user=olive`)).json(), {
    user: 'olive',
    offline: true,
  });

  await offline('olive', '0');
  const back = await RawClient.login(server.wsUrl, await token('olive'));
  const conv = await back.client.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['otto'] });
  assert.equal(conv.op, Op.CONV);
  const sent = await back.client.request(Op.SEND, {
    cmid: 'back-1',
    conv: (conv.body.conv as { id: number }).id,
    kind: MsgKind.Text,
    text: 'back',
  });
  assert.equal(sent.op, Op.SEND_ACK);
  back.client.close();
  other.client.close();
});

test('the offline switch answers 400 to a bad user or flag, and does not exist outside dev mode', async () => {
  assert.equal((await offline('', '1')).status, 400);
  assert.equal((await offline('x', 'yes')).status, 400);
  assert.equal((await offline('x'.repeat(65), '1')).status, 400);
  const prod = await startServer({ port: 0, secret: 's', log: () => {} });
  try {
    const res = await fetch(`${prod.url}/dev/offline?user=a&on=1`, { method: 'POST' });
    assert.equal(res.status, 404);
  } finally {
    await prod.close();
  }
});

test('parseOfflineQuery reads user and on=1|0 and names what is wrong', () => {
  assert.deepEqual(parseOfflineQuery(new URLSearchParams('user=a&on=1')), { user: 'a', on: true });
  assert.deepEqual(parseOfflineQuery(new URLSearchParams('user=a&on=0')), { user: 'a', on: false });
  assert.match((parseOfflineQuery(new URLSearchParams('on=1')) as { error: string }).error, /user/);
  assert.match((parseOfflineQuery(new URLSearchParams('user=a')) as { error: string }).error, /on/);
});
