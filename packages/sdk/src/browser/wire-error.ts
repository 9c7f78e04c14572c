import { ErrorCode, ProtocolError } from '@synkey/protocol/lite';

/** An error as it crosses a thread or tab boundary: structured-clonable, code kept. */
export interface WireError {
  name: string;
  code: string;
  message: string;
}

/** Turns anything thrown into a {@link WireError}. */
export function toWireError(error: unknown): WireError {
  if (error instanceof ProtocolError) return { name: error.name, code: error.code, message: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, code: typeof code === 'string' ? code : ErrorCode.Internal, message: error.message };
  }
  return { name: 'Error', code: ErrorCode.Internal, message: String(error) };
}

/** True for a value that is a {@link WireError}. */
export function isWireError(value: unknown): value is WireError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as WireError).code === 'string' &&
    typeof (value as WireError).message === 'string'
  );
}

/** Rebuilds an error thrown on the other side as a {@link ProtocolError} with the same code. */
export function fromWireError(value: unknown): ProtocolError {
  if (value instanceof ProtocolError) return value;
  if (isWireError(value)) {
    const error = new ProtocolError(value.code as ErrorCode, value.message);
    if (value.name && value.name !== 'Error') error.name = value.name;
    return error;
  }
  if (value instanceof Error) return new ProtocolError(ErrorCode.Internal, value.message);
  return new ProtocolError(ErrorCode.Internal, String(value));
}
