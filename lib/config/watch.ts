import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../observe/logger.js';
import { loadConfig } from './load.js';
import type { DualWriteConfig, DualWriteConfigInput } from './schema.js';

export interface ConfigWatcherOptions {
  /** The JSON or YAML config file to watch. */
  file: string;
  /** Values merged over the file before env overrides. */
  overrides?: DualWriteConfigInput | undefined;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Quiet time after the last file event before reloading, ms. @default 50 */
  debounceMs?: number;
  /** Polling interval of the fallback watcher (covers filesystems where fs.watch misses events), ms. @default 500 */
  pollIntervalMs?: number;
  /** The stage actually in force: a file whose stage differs is applied again even if its text did not change (retry of a refused flip). */
  stageInForce?: () => string;
  /** Called with each valid, changed configuration (in order, one at a time). */
  onChange: (next: Readonly<DualWriteConfig>, previous: Readonly<DualWriteConfig>) => Promise<void> | void;
}

/**
 * Watches one config file and hands every valid change to `onChange`. An invalid change (bad YAML,
 * a value the schema refuses) keeps the previous configuration and logs why.
 */
export class ConfigWatcher {
  readonly #opts: ConfigWatcherOptions;
  readonly #file: string;
  readonly #log: Logger;
  #current: Readonly<DualWriteConfig>;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Reloads run one after another. */
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: ConfigWatcherOptions) {
    this.#opts = options;
    this.#file = resolve(options.file);
    this.#log = options.logger.child({ component: 'config-watch' });
    this.#current = this.#load();
  }

  get current(): Readonly<DualWriteConfig> {
    return this.#current;
  }

  #load(): Readonly<DualWriteConfig> {
    return loadConfig({
      file: this.#file,
      overrides: this.#opts.overrides,
      env: this.#opts.env ?? process.env,
    });
  }

  start(): void {
    const name = basename(this.#file);
    // Watch the folder: editors and `dualwrite stage` replace the file by renaming, which ends a file watch.
    try {
      this.#watcher = watch(dirname(this.#file), (_event, filename) => {
        if (!filename || filename.toString() === name) this.#schedule();
      });
      this.#watcher.on('error', (error) =>
        this.#log.warn({ err: error.message }, 'fs.watch failed; polling only'),
      );
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'fs.watch unavailable; polling only');
    }
    watchFile(this.#file, { interval: this.#opts.pollIntervalMs ?? 500, persistent: false }, () =>
      this.#schedule(),
    );
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#chain = this.#chain.then(async () => {
        await this.reload();
      });
    }, this.#opts.debounceMs ?? 50);
  }

  /** Reads the file now; applies it when valid and different. Returns whether it was applied. */
  async reload(): Promise<boolean> {
    if (this.#closed) return false;
    let next: Readonly<DualWriteConfig>;
    try {
      next = this.#load();
    } catch (error) {
      this.#log.error(
        { file: this.#file, reason: (error as Error).message },
        'config reload rejected: the previous configuration stays in force',
      );
      return false;
    }
    const stageInForce = this.#opts.stageInForce?.() ?? this.#current.stage;
    if (isDeepStrictEqual(next, this.#current) && next.stage === stageInForce) return false;
    const previous = this.#current;
    this.#current = next;
    try {
      await this.#opts.onChange(next, previous);
    } catch (error) {
      this.#log.error(
        { file: this.#file, reason: (error as Error).message },
        'config change not fully applied',
      );
    }
    return true;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    unwatchFile(this.#file);
  }
}
