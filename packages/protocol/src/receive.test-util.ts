import assert from 'node:assert/strict';
import { type BodyOp, decodeBody } from './bodies';
import { ErrorCode, ProtocolError } from './errors';
import { DEFAULT_LIMITS, decodeFrames, type FrameLimits } from './frame';
import { HEADER_LEN } from './header';

const CODES = new Set<string>(Object.values(ErrorCode));

/** Runs the whole receive path; anything thrown must be a ProtocolError with a known code. */
export function receive(buf: Uint8Array, limits: FrameLimits = DEFAULT_LIMITS): void {
  const check = (e: unknown) => {
    if (!(e instanceof ProtocolError)) throw new Error(`non-ProtocolError escaped: ${e}`, { cause: e });
    assert.ok(CODES.has(e.code), `unknown code ${e.code}`);
  };
  let frames: ReturnType<typeof decodeFrames>;
  try {
    frames = decodeFrames(buf, limits);
  } catch (e) {
    check(e);
    return;
  }
  assert.ok(frames.length <= Math.floor(buf.length / HEADER_LEN), 'every frame consumes at least 16 bytes');
  for (const f of frames) {
    try {
      decodeBody(f.op as BodyOp, f.body);
    } catch (e) {
      check(e);
    }
  }
}
