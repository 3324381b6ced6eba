import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { REDACT_PATHS } from '../../../lib/observe/logger.js';

/** One log line the demo looks at. */
export interface TappedLine {
  level: number;
  msg: string;
  reasons?: string[];
  reason?: string;
  [key: string]: unknown;
}

/**
 * dualwrite's logger for the demo: every line goes to a log file (kept with the reports), and
 * warnings and errors are also kept in memory so the narration can say why a flip was refused.
 */
export class LogTap {
  readonly logger: Logger;
  readonly problems: TappedLine[] = [];
  readonly #file: WriteStream;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.#file = createWriteStream(path, { flags: 'w' });
    const sink = {
      write: (line: string): void => {
        this.#file.write(line);
        try {
          const parsed = JSON.parse(line) as TappedLine;
          if (parsed.level >= 40) this.problems.push(parsed);
        } catch {
          // not JSON: only kept in the file
        }
      },
    };
    this.logger = pino({ level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
  }

  /** Problems logged since index `from`, as short text. */
  since(from: number): string[] {
    return this.problems
      .slice(from)
      .map((p) => [p.msg, p.reasons?.join('; ') ?? p.reason].filter(Boolean).join(': '));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#file.end(resolve));
  }
}
