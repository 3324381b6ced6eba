import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DualWriteConfigInput } from '../../../lib/config/schema.js';
import { writeStageToFile } from '../../../lib/stage/config-file.js';
import type { Stage } from '../../../lib/stage/stage.js';
import type { AppArgs } from './app.js';

const APP = fileURLToPath(new URL('./app.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../../../bin/dualwrite.js', import.meta.url));

interface App {
  proc: ChildProcess;
  exited: Promise<void>;
  ledger: string;
}

/** App processes of one scenario sharing a config file, each with its own ledger. */
export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'dw-fault-'));
  readonly configFile = join(this.dir, 'dualwrite.json');
  readonly ledgers: string[] = [];
  readonly #apps = new Map<number, App>();
  #spawned = 0;
  readonly #stderr: string[] = [];

  constructor(
    config: DualWriteConfigInput,
    readonly options: { keys: number; pauseMs: number; syncWorker?: boolean },
  ) {
    writeFileSync(this.configFile, `${JSON.stringify(config, null, 2)}\n`);
  }

  /** Starts app `slot` (a new process, a new ledger); resolves once its handle is open. */
  async start(slot: number): Promise<void> {
    const ledger = join(this.dir, `ledger-${slot}-${this.#spawned}.txt`);
    this.ledgers.push(ledger);
    const args: AppArgs = {
      configFile: this.configFile,
      ledger,
      seed: 1000 * (slot + 1) + this.#spawned++,
      keys: this.options.keys,
      pauseMs: this.options.pauseMs,
      syncWorker: this.options.syncWorker ?? true,
    };
    const proc = spawn(process.execPath, ['--import', 'tsx', APP], {
      env: { ...process.env, FAULT_APP: JSON.stringify(args), DUALWRITE_STAGE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.stderr?.on('data', (d: Buffer) => {
      if (this.#stderr.length < 50) this.#stderr.push(d.toString().slice(0, 500));
    });
    this.#apps.set(slot, { proc, exited, ledger });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`app ${slot} did not start: ${this.#stderr.join('')}`)),
        // Starting a process (transpile, introspection) takes tens of seconds on a loaded machine.
        180_000,
      );
      proc.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`app ${slot} exited before it was ready: ${this.#stderr.join('')}`));
      });
    });
  }

  /** SIGKILLs app `slot` and waits for it to be gone. */
  async kill(slot: number): Promise<void> {
    const app = this.#apps.get(slot);
    if (!app) return;
    app.proc.kill('SIGKILL');
    await app.exited;
    this.#apps.delete(slot);
  }

  /** SIGTERM: the app finishes its write, closes its handle (draining) and exits. */
  async stop(slot: number): Promise<void> {
    const app = this.#apps.get(slot);
    if (!app) return;
    app.proc.kill('SIGTERM');
    const timer = setTimeout(() => app.proc.kill('SIGKILL'), 30_000);
    await app.exited;
    clearTimeout(timer);
    this.#apps.delete(slot);
  }

  slots(): number[] {
    return [...this.#apps.keys()];
  }

  /** Processes started by this cluster that are still alive (none once the scenario ended). */
  alive(): number {
    let n = 0;
    for (const app of this.#apps.values())
      if (app.proc.exitCode === null && app.proc.signalCode === null) n++;
    return n;
  }

  /** Merges `patch` into the config file (top-level sections replaced). */
  patchConfig(patch: Record<string, unknown>): void {
    const current = JSON.parse(readFileSync(this.configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(this.configFile, `${JSON.stringify({ ...current, ...patch }, null, 2)}\n`);
  }

  setStage(stage: Stage): void {
    writeStageToFile(this.configFile, stage);
  }

  /** `dualwrite stage <stage> --config <file>`: the operator's CLI. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string }> {
    return new Promise((resolve, reject) => {
      // The config file names the scenario's databases: no environment override of them.
      const { DUALWRITE_STAGE: _s, MYSQL_URL: _m, PG_URL: _p, ...env } = process.env;
      const child = spawn(process.execPath, [BIN, ...args, '--config', this.configFile], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });
  }

  stderr(): string {
    return this.#stderr.join('');
  }

  async close(): Promise<void> {
    await Promise.all(this.slots().map((s) => this.kill(s)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
