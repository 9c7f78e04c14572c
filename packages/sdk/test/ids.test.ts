import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newClientMsgId, uuidv7Generator } from '../src/ids';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function timestampOf(id: string): number {
  return Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}

describe('newClientMsgId', () => {
  it('is a UUIDv7 carrying the current time in ms', () => {
    const before = Date.now();
    const id = newClientMsgId();
    const after = Date.now();
    assert.match(id, UUID_V7);
    assert.ok(timestampOf(id) >= before && timestampOf(id) <= after);
  });

  it('strictly increases within one millisecond, also as strings', () => {
    const next = uuidv7Generator(() => 1_700_000_000_000);
    const ids = Array.from({ length: 10_000 }, next);
    for (let i = 1; i < ids.length; i++) assert.ok((ids[i - 1] as string) < (ids[i] as string), `at ${i}`);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.match(id, UUID_V7);
  });

  it('stays ordered when the clock steps back', () => {
    let clock = 2_000_000;
    const next = uuidv7Generator(() => clock);
    const a = next();
    clock -= 5_000;
    const b = next();
    assert.ok(a < b);
  });

  it('orders ids of later milliseconds after earlier ones', () => {
    let clock = 5_000;
    const next = uuidv7Generator(() => clock);
    const a = next();
    clock++;
    const b = next();
    assert.ok(a < b);
    assert.equal(timestampOf(b) - timestampOf(a), 1);
  });
});
