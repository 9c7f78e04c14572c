import { ErrorCode, ProtocolError } from '@synkey/sdk/core';

/**
 * Reads a token from `url` (with the page's cookies): a JSON `{ token }` or the plain token text.
 * Rejects with a ProtocolError (`UNAUTHENTICATED`) when the endpoint refuses or its JSON has no token.
 */
export async function fetchToken(url: string): Promise<string> {
  const res = await fetch(url, { credentials: 'include', headers: { accept: 'application/json, text/plain' } });
  if (!res.ok) throw new ProtocolError(ErrorCode.Unauthenticated, `the token endpoint answered ${res.status}`);
  const text = (await res.text()).trim();
  if (!text.startsWith('{')) return text;
  const token = (JSON.parse(text) as { token?: unknown }).token;
  if (typeof token !== 'string') throw new ProtocolError(ErrorCode.Unauthenticated, 'the token endpoint gave no token');
  return token;
}
