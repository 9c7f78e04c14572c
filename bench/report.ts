// Renders BENCHMARKS.md from results.json: each figure beside its baseline, each section saying what
// was measured, how, and against what. Pure: results in, Markdown out.
import type { SectionName, SectionResults } from './sections';

/** The machine a run was on. */
export interface Machine {
  cpus: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  os?: string;
  date: string;
}

/** When and under what load a section was measured. */
export interface Measured {
  date: string;
  loadAverage: number;
  quick: boolean;
}

/** results.json: the machine, then each section's figures. */
export type Results = { machine: Machine } & {
  [K in SectionName]: SectionResults[K] & { measured?: Measured };
};

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const kb = (n: number) => `${f(n / 1024, 1)} KB`;
const kib = (n: number) => `${f(n / 1024, 1)} KiB`;
const mib = (n: number) => `${f(n / 2 ** 20, 0)} MiB`;
const ms = (n: number, d = 1) => `${f(n, d)} ms`;
const s = (n: number) => `${f(n / 1000, 2)} s`;

function measuredLine(m: Measured | undefined): string {
  if (!m) return '';
  return `_Measured ${m.date.slice(0, 16).replace('T', ' ')} UTC, 1-min load average ${f(m.loadAverage, 2)} at the start${
    m.quick ? '; **quick run** (smaller parameters, for trying the harness)' : ''
  }._\n\n`;
}

function wire(w: Results['wire']): string {
  return `## Wire: bytes per message delivered by sync

${measuredLine(w.measured)}${w.messages} text messages (mixed English, Chinese, Korean, emoji; ${f(w.textBytesPerMessage)} bytes of
UTF-8 text each on average) synced by a client in pages of 200, counted as WebSocket payload bytes.

| | bytes / message | overhead beyond the text |
| --- | --: | --: |
| Synkey (16-byte frames, msgpack field arrays, ${w.syncReplies} SYNC replies) | ${f(w.synkeyBytesPerMessage)} | ${f(w.synkeyOverheadPerMessage)} |
| Baseline: the same messages as JSON events over a WebSocket | ${f(w.jsonBytesPerMessage)} | ${f(w.jsonOverheadPerMessage)} |
`;
}

function server(r: Results['server']): string {
  const p = r.params;
  const row = (name: string, x: typeof r.synkey) =>
    `| ${name} | ${int(x.throughput.deliveredPerSec)} | ${int(x.throughput.delivered)} / ${int(x.throughput.sent)} | ${f(x.cpuMicrosPerMessage, 0)} µs | ${f(x.serverCores, 2)} | ${f(x.loadCores, 2)} |`;
  const lat = (name: string, x: typeof r.synkey) =>
    `| ${name} | ${ms(x.latency.ack.p50, 2)} | ${ms(x.latency.ack.p99, 2)} | ${ms(x.latency.delivery.p50, 2)} | ${ms(x.latency.delivery.p99, 2)} | ${int(x.latency.achievedPerSec)} | ${int(x.latency.delivered)} / ${int(x.latency.sent)} |`;
  const errors = [r.synkey.firstError, r.relay.firstError].filter(Boolean);
  const saturated =
    r.synkey.throughput.deliveredPerSec < 1.5 * p.rate
      ? `\n**Here the offered ${int(p.rate)} msg/s is close to Synkey's measured maximum on this machine at this load, so its
latencies include queueing; on a quiet machine the same rate is far below saturation.**\n`
      : '';
  return `## Server: throughput and latency with ${int(p.clients)} connected clients

${measuredLine(r.measured)}${int(p.clients)} clients on long links, in ${int(p.clients / 2)} 1:1 conversations, driven by one
load-generator process; the server runs in a process of its own (the real \`startServer\`, SQLite
file database in WAL mode, rate limits lifted). A Synkey client does on the wire what the SDK does:
\`SEND\`; on \`NOTIFY\`, \`SYNC\` then \`ACK\`. A message counts as **delivered** when its recipient's
\`SYNC_REPLY\` carried it (stored, fanned out and fetched), and as **acked** when its sender got
\`SEND_ACK\` (stored). **Baseline**: a plain \`ws\` relay with no storage (bench/procs/relay.ts) that
receives \`{to, id, text}\` JSON, forwards it to the recipient's socket and acks the sender; same
clients, texts and load shape. Both servers and the generator share the machine's cores.

Most messages per second: every client keeps ${p.window} sends unacknowledged for ${f(p.throughputMs / 1000, 0)} s, then
the deliveries drain; rate = delivered ÷ time from the first send to the last delivery.

| | delivered msg/s | delivered / sent | server CPU per message | server cores used | generator cores used |
| --- | --: | --: | --: | --: | --: |
${row('Synkey', r.synkey)}
${row('Baseline: ws JSON relay, no storage', r.relay)}

Latency at a fixed offered load of ${int(p.rate)} msg/s (open loop, the clients in turn) for ${f(p.latencyMs / 1000, 0)} s; the first
${f(p.warmupMs / 1000, 0)} s are not counted.

| | send→ack p50 | send→ack p99 | send→delivered p50 | send→delivered p99 | achieved msg/s | delivered / sent |
| --- | --: | --: | --: | --: | --: | --: |
${lat('Synkey', r.synkey)}
${lat('Baseline: ws JSON relay, no storage', r.relay)}
${saturated}${errors.length ? `\nErrors seen: ${errors.join('; ')}\n` : ''}`;
}

function memory(r: Results['memory']): string {
  const row = (name: string, x: typeof r.synkey) =>
    `| ${name} | ${kib(x.rssPerConnection)} | ${kib(x.heapPerConnection)} | ${mib(x.before.rss)} → ${mib(x.after.rss)} | ${mib(x.before.heapUsed)} → ${mib(x.after.heapUsed)} |`;
  return `## Memory per idle connection

${measuredLine(r.measured)}${int(r.connections)} idle long links, each authenticated (\`AUTH\` → \`AUTH_OK\`, nothing to sync), opened from
client processes of their own. Server process RSS and V8 heap after a full GC, before the links
and after; the difference divided by the number of links. **Baseline**: the relay holding the same
number of sockets, each having said who it is.

| | RSS per link | heap per link | RSS before → after | heap before → after |
| --- | --: | --: | --: | --: |
${row('Synkey', r.synkey)}
${row('Baseline: ws JSON relay', r.relay)}
`;
}

function catchup(r: Results['catchup']): string {
  const n = int(r.params.messages);
  return `## Catch-up in Chromium: ${n} missed messages into IndexedDB

${measuredLine(r.measured)}Bob's page (the built \`demo/sdk.html\`: the real SDK in its Worker, with IndexedDB, in Chromium)
is closed while alice sends ${n} messages; then it is opened again. Timed from the client reporting
\`online\` to the ${n}th message applied (the engine's \`messages\` event, emitted after its IndexedDB
transaction committed). **Baseline**: in the same page, the same messages as JSON pages of 200 over
plain HTTP, each page written with an IndexedDB put loop in one transaction: what a naive client
does (no conversation records, receipts, SynKey or acks, so it does less work than the SDK). For
scale, the wire-and-server share: a Node client pulling the same timeline with \`SYNC\` pages of 200
and storing nothing.

| | messages/s | time |
| --- | --: | --: |
| Synkey SDK: sync into IndexedDB | ${int(r.synkey.perSec)} | ${s(r.synkey.syncMs)} |
| Baseline: JSON over HTTP, plain IndexedDB put loop | ${int(r.baseline.perSec)} | ${s(r.baseline.ms)} |
| For scale: raw \`SYNC\` pull in Node, no store | ${int(r.rawSync.perSec)} | ${s(r.rawSync.ms)} |

From opening the page to the last message applied: ${s(r.synkey.fromNavigationMs)} (page load, worker start, token, connect: ${s(r.synkey.onlineAtMs)}).

## Reconnect: from the server coming back to the first synced message

${measuredLine(r.measured)}While bob's page is online the server process is killed (SIGKILL) and started again on the same
port and database; as soon as it listens, alice sends one message (over her own link, a few ms).
Timed from the server listening to that message applied in bob's page; ${r.reconnect.trials.length} trials, each with a
fresh page so that none starts with backoff history. The time is mostly the SDK's reconnect backoff
(full jitter, windows growing from 0.5 s) waiting by design, so it spreads widely.

| trials | median | max | all (ms) |
| --: | --: | --: | --- |
| ${r.reconnect.trials.length} | ${ms(r.reconnect.medianMs, 0)} | ${ms(r.reconnect.maxMs, 0)} | ${r.reconnect.trials.map((t) => int(t)).join(', ')} |
`;
}

function uploadTable(m: Results['upload']['loopback'], concurrencies: number[]): string {
  const sizes = [...new Set(m.chunked.map((r) => r.chunkSize))];
  const cell = (size: number, c: number) => {
    const r = m.chunked.find((x) => x.chunkSize === size && x.concurrency === c);
    return r ? `${f(r.mbPerSec)} MiB/s (${int(r.ms)} ms)` : '–';
  };
  const best = [...m.chunked].sort((a, b) => a.ms - b.ms)[0];
  return `| chunk size | ${concurrencies.map((c) => `${c} in parallel`).join(' | ')} |
| --- | ${concurrencies.map(() => '--:').join(' | ')} |
${sizes.map((size) => `| ${size / 1024} KiB | ${concurrencies.map((c) => cell(size, c)).join(' | ')} |`).join('\n')}
| **Baseline: one single POST** | ${f(m.single.mbPerSec)} MiB/s (${int(m.single.ms)} ms) |${concurrencies
    .slice(1)
    .map(() => ' |')
    .join('')}

Fastest chunked: ${best ? `${best.chunkSize / 1024} KiB × ${best.concurrency} (${int(best.ms)} ms)` : '–'}.
`;
}

function upload(r: Results['upload']): string {
  const p = r.params;
  return `## Upload: a ${f(r.fileBytes / 2 ** 20, 1)} MiB image, parallel chunks vs one POST

${measuredLine(r.measured)}A JPEG of ${f(r.fileBytes / 2 ** 20, 2)} MiB (random noise, so nothing compresses) uploaded by a Node client (\`fetch\`)
through the media API (PROTOCOL.md §13.1): \`POST /media/uploads\`, then every chunk \`PUT\`, a given
number in parallel; time from the first request to the last chunk held (best of ${p.repeats} run(s) on
loopback, of ${p.linkRepeats} through the emulated link; each run a new file, cancelled afterwards). The server stores
each chunk as a temp file, fsynced and renamed. **Baseline**: the same bytes in one single POST to the
same server process, held the same way (one fsync): the bare cost of moving the bytes, without
resumability. Chunk sizes × parallel chunks, to pick the SDK's default by measurement.

On loopback (no network latency; what is left is per-request and per-fsync cost):

${uploadTable(r.loopback, p.concurrencies)}
Through an emulated link (a proxy adding ${r.link.rttMs} ms round-trip time, all connections sharing ${r.link.upMbit} Mbit/s
up; the floor for the file is ${s((r.fileBytes * 8) / (r.link.upMbit * 1000))}):

${uploadTable(r.link, p.concurrencies)}
After the transfer, \`complete\` (join the chunks, check the digest and the image, strip metadata,
re-encode, make the thumbnail) took ${s(r.full.completeMs)} for this ${r.full.width}×${r.full.height} image
(measured once on loopback, after a ${s(r.full.transferMs)} transfer in 512 KiB × 4); it is not part of the figures above.
`;
}

/** In place of a section whose figures in results.json are of an older shape than its renderer reads. */
function stale(title: string, section: SectionName): string {
  return `## ${title}

_The figures in bench/results.json were measured by an older version of this section; rerun
\`npm run bench -- --only ${section}\`._
`;
}

function sizes(z: Results['sizes']): string {
  const row = (what: string, w: { files?: number; raw: number; gzip: number }) =>
    `| ${what} | ${w.files ?? 1} | ${kb(w.raw)} | ${kb(w.gzip)} |`;
  const budget = 30 * 1024;
  const verdict = (n: number) => (n <= budget ? 'within it' : `**over by ${kb(n - budget)}**`);
  return `## Size of the script-tag embed

${measuredLine(z.measured)}What a page with the script tag loads, step by step: ES modules from the chat server, each file
gzipped alone as it is sent; a file the page and the worker share is fetched once.

| | files | minified | gzip |
| --- | --: | --: | --: |
${row('`synkey.js`, the script tag (call queue, `Synkey.init`)', z.loader)}
${row('At page load, in the page: the launcher (without Lit) and its client (incl. the above)', z.page)}
${row('At page load, in the worker: the engine, IndexedDB store, WebSocket link, codec', z.worker)}
${row('**At page load, all**', z.atLoad)}
${row('+ reaching for the launcher: Lit, the element, its panel (list, thread, composer, bubbles, media UI)', z.panel)}
${row('+ the first photo or voice note, sent or shown (uploads, downloads)', z.media)}
${row('+ the short link (only where the WebSocket cannot get through)', z.shortLink)}
${row('+ Chinese or Korean strings (each)', z.locale)}
| Instead of the worker, where the CSP forbids \`blob:\` workers: the engine in the page | ${z.inPageEngine.files} | ${kb(z.inPageEngine.raw)} | ${kb(z.inPageEngine.gzip)} |
${row('Everything', z.everything)}
| Baseline: all of it as one gzip stream (a single-file build of the same code) | – | ${kb(z.oneStream.raw)} | ${kb(z.oneStream.gzip)} |

Budget 30 KB gzip: at page load ${kb(z.atLoad.gzip)}, ${verdict(z.atLoad.gzip)}; everything ${kb(z.everything.gzip)}, ${verdict(z.everything.gzip)}.
`;
}

function embedLoad(r: Results['embedLoad']): string {
  type Figures = (typeof r.links)[string]['preload'];
  const signed = (n: number, text: (n: number) => string) => {
    const abs = text(Math.abs(n));
    return Number.isFinite(n) ? `${/[1-9]/.test(abs) ? (n > 0 ? '+' : '−') : '±'}${abs}` : '–';
  };
  const row = (what: string, x: Figures) =>
    `| ${what} | ${ms(x.scriptMs, 0)} | ${ms(x.launcherMs, 0)} | ${ms(x.connectedMs, 0)} | ${ms(x.panelMs, 0)} | ${kb(x.bytesToConnected)} | ${int(x.requestsToConnected)} | ${int(x.connectionsToConnected)} |`;
  const diff = (a: Figures, b: Figures) => {
    const t = (k: 'scriptMs' | 'launcherMs' | 'connectedMs' | 'panelMs') => signed(a[k] - b[k], (n) => ms(n, 0));
    const n = (k: 'requestsToConnected' | 'connectionsToConnected') => signed(a[k] - b[k], int);
    return `| Difference | ${t('scriptMs')} | ${t('launcherMs')} | ${t('connectedMs')} | ${t('panelMs')} | ${signed(a.bytesToConnected - b.bytesToConnected, kb)} | ${n('requestsToConnected')} | ${n('connectionsToConnected')} |`;
  };
  const tables = Object.entries(r.links).map(([name, { preload, noPreload }]) => {
    const l = r.params.links[name];
    const shape = l
      ? `${l.label}: ${l.rttMs} ms round trip, ${l.downMbit ?? '∞'} Mbit/s down, ${l.upMbit} Mbit/s up`
      : name;
    return `${shape} (medians of ${preload.trials.length} and ${noPreload.trials.length} loads):

| | script tag fetched | launcher shown | connected | panel, from the click | bytes to connected | requests to connected | connections to connected |
| --- | --: | --: | --: | --: | --: | --: | --: |
${row('`synkey.js`: the loader with its preload list', preload)}
${row('Baseline: the same loader preloading nothing', noPreload)}
${diff(preload, noPreload)}
`;
  });
  return `## Embed load: script tag → launcher shown → connected, through an emulated link

${measuredLine(r.measured)}A third-party page (another site than the chat server, with a CSP that allows the chat server and
\`blob:\` workers) holding the script tag, each time in a new Chromium context: cold HTTP cache, no
IndexedDB. The chat server is the real server process serving a fresh build of the embed (files sent
brotli-compressed, as it sends them to browsers); it and the site are reached through one emulated line
(bench/link-emulator.ts): a TCP proxy that adds the round-trip time, one more round trip before a new
connection's first bytes (TCP's handshake), and shares the line's downlink and uplink between all
connections. Times from navigation start: **launcher shown**, the button in \`<synkey-chat>\`'s shadow
root; **connected**, the client's \`watchState\` first reporting \`online\` (engine loaded in its
worker, token fetched, WebSocket authenticated). Then the pointer rests ${r.params.hoverMs} ms on the launcher (hovering
starts loading the panel) and clicks: **panel**, from the click to the "New conversation" button laid out.
Bytes, requests and connections: what went through the line to and from the chat server up to
connected (the WebSocket's upgrade included; answers from the HTTP cache are not requests).
**Baseline**: the same build with a loader that preloads nothing (\`synkey-nopreload.js\`), so each
module is asked for only once the module importing it has arrived; the two loaders take turns, in
the same run. \`synkey.js\` preloads ${r.preloaded.length} files: ${r.preloaded.map((f) => `\`${f}\``).join(', ')}.

${tables.join('\n')}`;
}

/** BENCHMARKS.md for `r`; sections never measured are left out. */
export function renderReport(r: Partial<Results>): string {
  const m = r.machine;
  const parts = [
    `# Benchmarks

Measured by \`npm run bench\`${
      m
        ? ` on ${m.cpus} × ${m.cpu}, ${m.memoryGiB} GiB, ${m.os ? `${m.os}, ` : ''}Node ${m.node} (${m.date.slice(0, 10)})`
        : ''
    }.
Each figure stands next to its baseline, measured in the same run on the same machine; load
generators, servers and the browser share its cores, so figures from a busy machine are noisy (each
section notes the load average it started at). Raw numbers: [bench/results.json](bench/results.json).
\`npm run bench -- --only server,catchup\` reruns some sections and keeps the others' figures.
`,
  ];
  if (r.wire) parts.push(wire(r.wire));
  if (r.server) parts.push(server(r.server));
  if (r.memory) parts.push(memory(r.memory));
  if (r.catchup) parts.push(catchup(r.catchup));
  if (r.upload) parts.push(upload(r.upload));
  if (r.sizes) parts.push('loader' in r.sizes ? sizes(r.sizes) : stale('Size of the script-tag embed', 'sizes'));
  if (r.embedLoad) parts.push(embedLoad(r.embedLoad));
  return parts.join('\n');
}
