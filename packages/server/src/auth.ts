import { ErrorCode, Limits, ProtocolError } from '@synkey/protocol';
import { errors, jwtVerify, SignJWT } from 'jose';

/** Who a verified token speaks for. */
export interface Identity {
  user: string;
  name?: string;
}

const encoder = new TextEncoder();

/**
 * Mints a signed token for `user` (HS256). The embedding site's backend does this with the shared
 * secret; the dev-mode `/dev/token` endpoint does it for demo users.
 */
export async function mintToken(
  secret: string,
  user: string,
  opts: { ttlSeconds?: number; name?: string } = {},
): Promise<string> {
  const jwt = new SignJWT(opts.name ? { name: opts.name } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.ttlSeconds ?? 24 * 3600));
  return jwt.sign(encoder.encode(secret));
}

/** Verifies a token; throws ProtocolError TOKEN_EXPIRED or UNAUTHENTICATED. */
export async function verifyToken(secret: Uint8Array, token: string): Promise<Identity> {
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
    const user = payload.sub;
    if (typeof user !== 'string' || user.length === 0 || user.length > Limits.maxId) {
      throw new ProtocolError(ErrorCode.Unauthenticated, 'token subject is not a valid user id');
    }
    const name = typeof payload.name === 'string' ? payload.name.slice(0, Limits.maxTitle) : undefined;
    return name ? { user, name } : { user };
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    if (e instanceof errors.JWTExpired) throw new ProtocolError(ErrorCode.TokenExpired, 'token expired');
    throw new ProtocolError(ErrorCode.Unauthenticated, 'invalid token');
  }
}

/** The key bytes for a secret string. */
export function secretKey(secret: string): Uint8Array {
  return encoder.encode(secret);
}
