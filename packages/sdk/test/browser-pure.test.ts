import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, ProtocolError } from '@synkey/protocol';
import { mintToken } from '@synkey/server';
import { tokenSubject } from '../src/browser/token-subject';
import { MessageList, messageKey } from '../src/browser/watch';
import { fromWireError, isWireError, toWireError } from '../src/browser/wire-error';
import { parsePendingReads } from '../src/pending-reads';
import { type ChatMessage, withPositions } from '../src/state';
import { SECRET } from './server-harness';

function stored(id: number, convSeq: number, extra: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id,
    conv: 1,
    sender: 'bob',
    convSeq,
    ts: 1_000 + convSeq,
    kind: 1,
    text: `m${convSeq}`,
    state: 'delivered',
    ...extra,
  };
}

function unsent(cmid: string, ts: number, state: 'sending' | 'failed' = 'sending'): ChatMessage {
  return { cmid, conv: 1, sender: 'alice', ts, kind: 1, text: cmid, state };
}

const shape = (list: ChatMessage[]) => list.map((m) => `${m.text}:${m.state}`);

describe('MessageList (watchMessages merge)', () => {
  it('a message keeps its one place from sending (cmid only) to sent and read (cmid + id + convSeq)', () => {
    const list = new MessageList();
    list.load([stored(1, 1), stored(2, 2)]);
    list.merge([unsent('x', 5_000)], []);
    assert.deepEqual(shape(list.list()), ['m1:delivered', 'm2:delivered', 'x:sending']);

    const sent: ChatMessage = { ...unsent('x', 5_000), id: 3, convSeq: 3, ts: 1_003, state: 'sent' };
    list.merge([sent], []);
    assert.deepEqual(shape(list.list()), ['m1:delivered', 'm2:delivered', 'x:sent']);

    list.merge([{ ...sent, state: 'read' }], []);
    const after = list.list();
    assert.deepEqual(shape(after), ['m1:delivered', 'm2:delivered', 'x:read']);
    assert.equal(after.filter((m) => m.cmid === 'x').length, 1, 'never shown twice');
    assert.equal(messageKey(unsent('x', 1)), messageKey(sent), 'the key does not change when the id arrives');
  });

  it('a message of mine that a later message of someone else overtook moves to its convSeq once stored', () => {
    const list = new MessageList();
    list.load([stored(1, 1)]);
    list.merge([unsent('x', 5_000)], []);
    list.merge([stored(2, 2)], []);
    assert.deepEqual(shape(list.list()), ['m1:delivered', 'm2:delivered', 'x:sending']);
    list.merge([{ ...unsent('x', 5_000), id: 3, convSeq: 3, state: 'sent' }], []);
    assert.deepEqual(
      list.list().map((m) => m.convSeq),
      [1, 2, 3],
    );
  });

  it('removed cmids disappear; other messages stay', () => {
    const list = new MessageList();
    list.load([stored(1, 1), unsent('gone', 10, 'failed'), unsent('kept', 20, 'failed')]);
    list.merge([], ['gone', 'never-there']);
    assert.deepEqual(shape(list.list()), ['m1:delivered', 'kept:failed']);
  });

  it('unsent messages sort after every stored one (whatever their local time), among themselves by time', () => {
    const list = new MessageList();
    list.load([unsent('late', 30), stored(2, 2, { ts: 9_999_999 }), unsent('early', 10), stored(1, 1)]);
    assert.deepEqual(shape(list.list()), ['m1:delivered', 'm2:delivered', 'early:sending', 'late:sending']);
  });

  it('load() replaces the list; the same stored message merged again is not duplicated', () => {
    const list = new MessageList();
    list.load([stored(1, 1), unsent('x', 1)]);
    list.load([stored(5, 5)]);
    list.merge([stored(5, 5, { state: 'read' }), stored(6, 6)], []);
    assert.deepEqual(shape(list.list()), ['m5:read', 'm6:delivered']);
  });
});

describe('MessageList positions (states derived from member positions)', () => {
  const members = (aliceRead: number, bobDelivered: number, bobRead: number) => [
    { user: 'alice', delivered: aliceRead, read: aliceRead },
    { user: 'bob', delivered: bobDelivered, read: bobRead },
  ];
  const mine = (id: number, convSeq: number, state: ChatMessage['state'] = 'sent') =>
    stored(id, convSeq, { sender: 'alice', cmid: `c${id}`, state });

  it("derives my messages' states from the others' positions and others' from mine; unsent ones stay", () => {
    const list = new MessageList();
    list.load([stored(1, 1), mine(2, 2), mine(3, 3), stored(4, 4), unsent('x', 9_000)]);
    assert.equal(list.positions(members(1, 2, 0), 'alice'), true);
    assert.deepEqual(shape(list.list()), ['m1:read', 'm2:delivered', 'm3:sent', 'm4:delivered', 'x:sending']);
    assert.equal(list.positions(members(4, 3, 3), 'alice'), true);
    assert.deepEqual(shape(list.list()), ['m1:read', 'm2:read', 'm3:read', 'm4:read', 'x:sending']);
  });

  it('an update that arrives late never lowers a state; one that changes nothing says so', () => {
    const list = new MessageList();
    list.load([mine(2, 2, 'read'), stored(4, 4, { state: 'read' })]);
    assert.equal(list.positions(members(0, 0, 0), 'alice'), false);
    assert.deepEqual(shape(list.list()), ['m2:read', 'm4:read']);
  });

  it('withPositions returns the same object when the state does not rise', () => {
    const m = mine(2, 2, 'delivered');
    assert.equal(withPositions(m, members(0, 2, 0), 'alice'), m);
    assert.deepEqual(withPositions(m, members(0, 2, 2), 'alice'), { ...m, state: 'read' });
    const alone = mine(3, 3);
    assert.equal(withPositions(alone, [{ user: 'alice', delivered: 3, read: 3 }], 'alice'), alone, 'no one else: sent');
  });
});

describe('parsePendingReads', () => {
  it('reads the pairs it wrote and skips anything malformed', () => {
    assert.deepEqual(
      [
        ...parsePendingReads(
          JSON.stringify([
            [1, 5],
            [2, 9],
          ]),
        ),
      ],
      [
        [1, 5],
        [2, 9],
      ],
    );
    assert.deepEqual([...parsePendingReads(undefined)], []);
    assert.deepEqual([...parsePendingReads('{not json')], []);
    assert.deepEqual([...parsePendingReads('{"1":5}')], []);
    assert.deepEqual(
      [...parsePendingReads('[[1,5],[2],["3",4],[4,0],[5,1.5],null,[6,7]]')],
      [
        [1, 5],
        [6, 7],
      ],
    );
  });
});

/** A JWT-looking token with `payload`, its payload part base64url-encoded with or without padding. */
function jwt(payload: unknown, padded = false): string {
  let body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  if (padded) body = body.padEnd(Math.ceil(body.length / 4) * 4, '=');
  return `eyJhbGciOiJIUzI1NiJ9.${body}.c2ln`;
}

describe('tokenSubject', () => {
  it('reads sub from a token minted by the server', async () => {
    assert.equal(tokenSubject(await mintToken(SECRET, 'alice')), 'alice');
  });

  it('reads sub from base64url payloads without padding and with padding, for every padding length', () => {
    const subs = ['a', 'ab', 'abc'];
    const remainders = new Set(
      subs.map((sub) => Buffer.from(JSON.stringify({ sub })).toString('base64url').length % 4),
    );
    assert.equal(remainders.size, 3, 'the subjects cover every unpadded length (0, 2 and 3 mod 4)');
    for (const sub of subs) {
      assert.equal(tokenSubject(jwt({ sub })), sub, `unpadded ${sub}`);
      assert.equal(tokenSubject(jwt({ sub }, true)), sub, `padded ${sub}`);
    }
  });

  it('decodes the base64url alphabet (- and _) in the payload', () => {
    const sub = '??>>~~';
    const token = jwt({ sub, n: '>>>???' });
    assert.match(token.split('.')[1] ?? '', /[-_]/);
    assert.equal(tokenSubject(token), sub);
  });

  it('reads a non-ASCII sub as the same text (the payload is UTF-8)', () => {
    assert.equal(tokenSubject(jwt({ sub: '张三' })), '张三');
    assert.equal(tokenSubject(jwt({ sub: 'José' })), 'José');
  });

  it('gives undefined for a token that is not a JWT or has no usable sub', () => {
    for (const token of [
      '',
      'opaque-session-token',
      'a.',
      'a.!!!.b',
      `a.${Buffer.from('not json').toString('base64url')}.b`,
      jwt({ name: 'no sub' }),
      jwt({ sub: '' }),
      jwt({ sub: 42 }),
      jwt(null),
    ]) {
      assert.equal(tokenSubject(token), undefined, JSON.stringify(token));
    }
  });
});

describe('wire errors', () => {
  it('a ProtocolError round-trips its code, message and name through structured clone', () => {
    const wire = toWireError(new ProtocolError(ErrorCode.Forbidden, 'not a member'));
    const cloned = structuredClone(wire);
    assert.ok(isWireError(cloned));
    const back = fromWireError(cloned);
    assert.ok(back instanceof ProtocolError);
    assert.equal(back.code, ErrorCode.Forbidden);
    assert.equal(back.message, 'not a member');
    assert.equal(back.name, 'ProtocolError');
  });

  it('a plain Error becomes INTERNAL with its message; an Error with a string code keeps it', () => {
    const wire = toWireError(new TypeError('boom'));
    assert.deepEqual(wire, { name: 'TypeError', code: ErrorCode.Internal, message: 'boom' });
    assert.equal(fromWireError(wire).code, ErrorCode.Internal);
    assert.equal(fromWireError(new Error('raw')).code, ErrorCode.Internal);
    const coded = Object.assign(new Error('store closed'), { code: 'STORE_CLOSED' });
    assert.equal(fromWireError(toWireError(coded)).code, 'STORE_CLOSED');
  });

  it('a thrown non-Error becomes INTERNAL with its text', () => {
    assert.deepEqual(toWireError('nope'), { name: 'Error', code: ErrorCode.Internal, message: 'nope' });
    const back = fromWireError(42);
    assert.equal(back.code, ErrorCode.Internal);
    assert.equal(back.message, '42');
  });

  it('fromWireError returns a ProtocolError unchanged', () => {
    const error = new ProtocolError(ErrorCode.Timeout, 'slow');
    assert.equal(fromWireError(error), error);
  });
});
