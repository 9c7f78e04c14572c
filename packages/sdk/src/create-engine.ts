import { createEngineOn, type Engine, type EngineOptions } from './engine';
import { MemoryStore } from './memory-store';

/**
 * Creates an engine and starts connecting.
 *
 * @example
 * ```ts
 * const engine = createEngine({ server: 'https://chat.example.com', getToken: () => fetchTokenFromMySite() });
 * engine.subscribe((e) => { if (e.type === 'messages') render(e.conv); });
 * addEventListener('online', () => engine.kick());
 * const cmid = await engine.send(conv, { text: 'hello' });
 * ```
 */
export function createEngine(options: EngineOptions): Engine {
  return createEngineOn(options.store ?? new MemoryStore(), options, options.store === undefined);
}
