// Vite turns this import into a Worker constructor over the engine's worker, inlined as a blob: URL.
declare module '@synkey/sdk/worker?worker&inline' {
  const EngineWorker: new (options?: { name?: string }) => Worker;
  export default EngineWorker;
}
