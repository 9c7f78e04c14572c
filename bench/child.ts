// Child processes of the benchmarks (servers and load generators): started with tsx and
// --expose-gc, asked questions over IPC, stopped by their own pid.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

/** Memory of a child process after a full garbage collection, in bytes. */
export interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** CPU time a child process has used so far, in microseconds. */
export interface CpuTime {
  user: number;
  system: number;
}

/** A child process running one of bench/procs/*.ts, answering requests over IPC. */
export class Child {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly proc: ChildProcess,
    /** What the child printed after `listening on`, when it serves something. */
    readonly url: string,
  ) {
    proc.on('message', (m: { id: number; ok?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(m.error));
      else w.resolve(m.ok);
    });
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    this.exited.then((code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`child exited with ${code}`));
      this.waiting.clear();
    });
  }

  /**
   * Starts `bench/procs/<script>` and, when `listens`, waits for its `listening on URL` line.
   * Extra `env` is added to the environment.
   */
  static async start(
    script: string,
    args: string[] = [],
    { listens = true, env = {} }: { listens?: boolean; env?: Record<string, string> } = {},
  ): Promise<Child> {
    const proc = spawn(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', join(ROOT, 'bench/procs', script), ...args],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env: { ...process.env, ...env } },
    );
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      if (!listens) {
        proc.once('spawn', () => resolve(''));
      }
      proc.stdout?.on('data', (d: Buffer) => {
        out += d;
        const m = /listening on (\S+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}: ${out}`)));
    });
    proc.stdout?.on('data', (d: Buffer) => {
      if (!/listening on/.test(String(d))) process.stdout.write(d);
    });
    return new Child(proc, url);
  }

  /** Sends `cmd` with `args` to the child; resolves with its answer. */
  ask<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, ...args });
    });
  }

  /** The child's memory after a full GC. */
  memory(): Promise<Memory> {
    return this.ask<Memory>('memory');
  }

  /** The child's CPU time so far. */
  cpu(): Promise<CpuTime> {
    return this.ask<CpuTime>('cpu');
  }

  /** Stops the child with `signal` (SIGTERM by default) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    await this.exited;
  }
}
