/**
 * `@synkey/protocol/lite`: the protocol's constants (op codes, kinds, limits) and its error type,
 * without the codec. Page-side code imports this instead of the package root, so bundlers that
 * split by module graph (the script-tag embed) keep the codec in the engine's chunk.
 */
export * from './errors';
export * from './kinds';
export * from './limits';
export * from './ops';
