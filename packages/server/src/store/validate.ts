import { ConvKind, ErrorCode, Limits, MsgKind, ProtocolError } from '@synkey/protocol';

/** Throws the INVALID error every request check reports. */
export function invalid(message: string): never {
  throw new ProtocolError(ErrorCode.Invalid, message);
}

/** A user id, device id or cmid: a string of 1..{@link Limits.maxId} UTF-16 units. */
export function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > Limits.maxId) {
    invalid(`${what} must be a string of 1..${Limits.maxId} characters`);
  }
  return value;
}

/** A non-negative safe integer (conversation ids, seqs, epochs). */
export function checkUint(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    invalid(`${what} must be an unsigned integer`);
  }
  return value;
}

/** Message text: non-empty after trimming and at most {@link Limits.maxText} UTF-16 units. */
export function checkText(text: unknown): string {
  if (typeof text !== 'string' || text.trim().length === 0) invalid('text must not be empty');
  if (text.length > Limits.maxText) invalid(`text is longer than ${Limits.maxText} characters`);
  return text;
}

/** A message kind: text, image or voice. */
export function checkMsgKind(kind: unknown): MsgKind {
  if (kind !== MsgKind.Text && kind !== MsgKind.Image && kind !== MsgKind.Voice) {
    invalid(`message kind ${String(kind)} is not supported`);
  }
  return kind;
}

/** The caption of an image or voice message: optional, blank means none (`null`), at most {@link Limits.maxText}. */
export function checkCaption(text: unknown): string | null {
  if (text === undefined || text === null) return null;
  if (typeof text !== 'string') invalid('text must be a string');
  if (text.length > Limits.maxText) invalid(`text is longer than ${Limits.maxText} characters`);
  return text.trim().length === 0 ? null : text;
}

/** A conversation kind. */
export function checkConvKind(kind: unknown): ConvKind {
  if (kind !== ConvKind.Direct && kind !== ConvKind.Group) invalid(`conversation kind ${String(kind)} is unknown`);
  return kind;
}

/** A title of at most {@link Limits.maxTitle} characters; blank means none (`null`). */
export function checkTitle(title: unknown): string | null {
  if (title === undefined || title === null) return null;
  if (typeof title !== 'string') invalid('title must be a string');
  if (title.length > Limits.maxTitle) invalid(`title is longer than ${Limits.maxTitle} characters`);
  return title.trim().length === 0 ? null : title;
}

/** A display name: same bounds as a title. */
export function checkName(name: unknown): string | null {
  if (name === undefined || name === null) return null;
  if (typeof name !== 'string') invalid('name must be a string');
  if (name.length > Limits.maxTitle) invalid(`name is longer than ${Limits.maxTitle} characters`);
  return name;
}

/** A page size: `fallback` when absent, otherwise clamped to 1..max. */
export function clampLimit(limit: number | undefined, fallback: number, max: number): number {
  if (limit === undefined || limit === null) return fallback;
  checkUint(limit, 'limit');
  return Math.min(max, Math.max(1, limit));
}
