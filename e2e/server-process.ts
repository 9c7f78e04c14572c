import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** A real Synkey server in a child process, with its own database, that a test can kill and restart. */
export class ServerProcess {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'synkey-e2e-'));
  port = 0;
  /** The demo site's port (the third-party page on another origin), when started with `--site`. */
  sitePort = 0;

  private constructor(
    private readonly staticDirs: string[],
    private readonly extraArgs: string[] = [],
  ) {}

  /** Starts a dev-mode server on a free port, serving `staticDirs` (relative to the repo root). */
  static async start(
    staticDirs: string[] = ['dist/demo', 'packages/widget/dist'],
    extraArgs: string[] = [],
  ): Promise<ServerProcess> {
    const s = new ServerProcess(staticDirs, extraArgs);
    await s.launch();
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the process again on the same port and database. */
  async launch(): Promise<void> {
    const args = ['--import', 'tsx', 'packages/server/src/main.ts', '--dev', '--port', String(this.port)];
    args.push('--db', join(this.dir, 'synkey.db'));
    for (const d of this.staticDirs) args.push('--static', d);
    args.push(...this.extraArgs);
    if (this.extraArgs.includes('--site')) args.push('--site-port', String(this.sitePort));
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    this.child = child;
    this.port = await new Promise<number>((resolvePort, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d;
        const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(out);
        const site = /site on https?:\/\/[^:]+:(\d+)/.exec(out);
        if (site) this.sitePort = Number(site[1]);
        if (m && (site || !this.extraArgs.includes('--site'))) resolvePort(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
    });
  }

  /** Stops the process (SIGKILL by default: no goodbye to anyone). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
    this.child = null;
  }

  /** Suspends the process (SIGSTOP): sockets stay open, nothing is answered. */
  async freeze(): Promise<void> {
    this.child?.kill('SIGSTOP');
  }

  /** Resumes a frozen process. */
  async thaw(): Promise<void> {
    this.child?.kill('SIGCONT');
  }

  /** Stops the process and deletes its database. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
