// The server under soak: fuzz-server.ts in a child process on a fixed port with a file database, so
// that it can be killed with SIGKILL and started again on the same port with the same data.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** How long the server may take to start before the soak gives up. */
const START_DEADLINE_MS = 60_000;
const CLOSE_DEADLINE_MS = 15_000;
const PORT_TRIES = 20;

/**
 * A port below the kernel's ephemeral range. While the server is down, outgoing connections (the
 * proxy's to this very port among them) take their local ports from that range: a port inside it
 * could be taken by one of them, or the proxy could connect to itself (TCP simultaneous open), and
 * the restart on the same port would fail.
 */
function quietPort(): number {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {}
  return randomInt(Math.max(1024, low - 12_000), Math.max(1025, low - 100));
}

/** Controls the soak's server process: start (first on a free port below the ephemeral range), SIGKILL, restart, close. */
export class SoakServer {
  /** The port, fixed after the first start. */
  port: number;
  epoch = 0;
  kills = 0;
  starts = 0;
  /** What the server logged (its internal errors), and how it exited when that was not our doing. */
  readonly logs: string[] = [];
  readonly crashes: string[] = [];
  private child: ChildProcess | undefined;
  private expectExit = false;
  private stderr = '';

  constructor(
    private readonly dbPath: string,
    private readonly secret: string,
    port = 0,
  ) {
    this.port = port;
  }

  /** Starts the server (on the same port as before, once it has one) and waits until it listens. */
  async start(): Promise<void> {
    if (this.port !== 0) return this.spawn(this.port);
    for (let tries = 1; ; tries++) {
      try {
        return await this.spawn(quietPort());
      } catch (e) {
        if (tries >= PORT_TRIES || !/EADDRINUSE/.test((e as Error).message)) throw e;
        this.crashes.pop();
      }
    }
  }

  private async spawn(port: number): Promise<void> {
    const entry = fileURLToPath(new URL('./fuzz-server.ts', import.meta.url));
    const options = { dbPath: this.dbPath, secret: this.secret, maxFrame: 256 * 1024, port };
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: { ...process.env, FUZZ_SERVER: JSON.stringify(options) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    this.expectExit = false;
    this.stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.expectExit = true;
        child.kill('SIGKILL');
        reject(new Error(`the server did not start within ${START_DEADLINE_MS} ms`));
      }, START_DEADLINE_MS);
      child.on('message', (m: { type: string; url?: string; epoch?: number; msg?: string; err?: string }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          this.port = Number(new URL(m.url as string).port);
          this.epoch = m.epoch as number;
          resolve();
        } else if (m.type === 'log') this.logs.push(`${m.msg} ${m.err}`.trim());
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.expectExit || this.child !== child) return;
        const why = `the server exited (code ${code}, signal ${signal}); stderr: ${this.stderr.trim().slice(-1500)}`;
        this.crashes.push(why);
        reject(new Error(why));
      });
    });
    await ready;
    this.starts++;
  }

  /** True while a server process runs. */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Kills the server with SIGKILL and waits until the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.expectExit = true;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
    this.kills++;
  }

  /** Asks the server to close (it finishes what it is doing); kills it if it does not in time. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.expectExit = true;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    if (child.connected) child.send({ type: 'close' });
    const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_DEADLINE_MS);
    await gone;
    clearTimeout(timer);
  }
}
