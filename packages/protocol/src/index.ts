export * from './bodies';
export * from './errors';
export * from './frame';
export * from './header';
export * from './limits';
export { msgpackFits } from './msgpack-guard';
export * from './ops';
export type { Body, Field, FieldType, Shape } from './schema';
