/** Fills `bytes` with cryptographically strong random values and returns it. */
export type RandomBytes = (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const MAX_COUNTER = 0xfff;

const cryptoBytes: RandomBytes = (bytes) => crypto.getRandomValues(bytes);

/**
 * Makes a UUIDv7 generator (RFC 9562): 48 bits of Unix time in ms, the version, 12 bits of
 * `rand_a` used as a counter, the variant, 62 random bits.
 *
 * The ids of one generator strictly increase, also as strings: within one millisecond (or when the
 * clock steps back) the counter counts up from a random start in its lower half; when it overflows,
 * the timestamp moves on by one millisecond.
 */
export function uuidv7Generator(now: () => number = Date.now, randomBytes: RandomBytes = cryptoBytes): () => string {
  let lastMs = -1;
  let counter = 0;
  return () => {
    const bytes = randomBytes(new Uint8Array(16));
    const clock = now();
    if (clock > lastMs) {
      lastMs = clock;
      counter = (((bytes[6] as number) << 8) | (bytes[7] as number)) & 0x7ff;
    } else if (++counter > MAX_COUNTER) {
      lastMs++;
      counter = 0;
    }
    let ms = lastMs;
    for (let i = 5; i >= 0; i--) {
      bytes[i] = ms % 256;
      ms = Math.floor(ms / 256);
    }
    bytes[6] = 0x70 | (counter >> 8);
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
    let s = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
      s += HEX[bytes[i] as number];
    }
    return s;
  };
}

/** A new time-ordered clientMsgId (UUIDv7). Ids from one page or worker strictly increase. */
export const newClientMsgId: () => string = uuidv7Generator();
