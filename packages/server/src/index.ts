export { type Identity, mintToken, verifyToken } from './auth';
export { type RunningServer, type ServerOptions, startServer } from './server';
export { staticFiles } from './static-files';
export type { ChatStore } from './store/types';
