import Table from 'cli-table3';

/** One walked step of the demo, with the figures it measured. */
export interface StepRecord {
  step: string;
  stage: string;
  seconds: number;
  result: string;
  /** One line for the summary table. */
  headline: string;
  figures: Record<string, string | number>;
}

const tty = process.stdout.isTTY === true;
const bold = (s: string): string => (tty ? `\x1b[1m${s}\x1b[22m` : s);
const dim = (s: string): string => (tty ? `\x1b[2m${s}\x1b[22m` : s);

/** Prints the demo's story: numbered steps, figures, and a summary table at the end. */
export class Narrator {
  readonly steps: StepRecord[] = [];
  private readonly startedAt = Date.now();
  private current: {
    title: string;
    stage: string;
    at: number;
    figures: Record<string, string | number>;
  } | null = null;

  constructor(private readonly out: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  begin(title: string, stage: string, why?: string): void {
    this.current = { title, stage, at: Date.now(), figures: {} };
    this.out('');
    this.out(bold(`▶ ${this.steps.length + 1}. ${title}`) + dim(`  [stage: ${stage}]`));
    if (why) this.out(dim(`  ${why}`));
  }

  say(text: string): void {
    this.out(`  ${text}`);
  }

  figure(label: string, value: string | number): void {
    if (this.current) this.current.figures[label] = value;
    this.out(`  • ${label}: ${bold(String(value))}`);
  }

  end(result = 'ok', headline = ''): StepRecord {
    const c = this.current ?? { title: '?', stage: '?', at: Date.now(), figures: {} };
    const record: StepRecord = {
      step: c.title,
      stage: c.stage,
      seconds: Math.round((Date.now() - c.at) / 100) / 10,
      result,
      headline,
      figures: c.figures,
    };
    this.steps.push(record);
    this.out(dim(`  ✓ ${result} in ${record.seconds}s`));
    this.current = null;
    return record;
  }

  elapsedSeconds(): number {
    return Math.round((Date.now() - this.startedAt) / 100) / 10;
  }

  /** The summary table: one row per step with its key figures. */
  table(): string {
    const table = new Table({
      head: ['#', 'step', 'stage', 'time', 'result', 'figures'],
      wordWrap: true,
      colWidths: [4, 34, 12, 8, 8, 56],
      style: tty ? {} : { head: [], border: [] },
    });
    this.steps.forEach((s, i) => table.push([i + 1, s.step, s.stage, `${s.seconds}s`, s.result, s.headline]));
    return table.toString();
  }
}
