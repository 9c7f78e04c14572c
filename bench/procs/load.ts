// A load-generator process: holds simulated clients (bench/load) and runs what the parent asks.
// Commands: connect {kind, url, secret, users, pairs}, throughput {durationMs, window},
// latency {rate, durationMs, warmupMs}, close.
import { Generator, type LoadKind } from '../load/generator';
import { handle } from './ipc';

const gen = new Generator();

handle('connect', async (m) => {
  await gen.connect(m.kind as LoadKind, m.url as string, m.secret as string, m.users as string[], m.pairs === true);
  return { clients: gen.clients.length };
});
handle('throughput', (m) => gen.throughput(m.durationMs as number, m.window as number));
handle('latency', (m) => gen.latency(m.rate as number, m.durationMs as number, m.warmupMs as number));
handle('firstError', () => gen.firstError);
handle('close', () => gen.close());
