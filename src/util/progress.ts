/** Formats seconds as 1h02m, 3m05s or 12s. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * A progress line on stderr: a redrawn bar on a terminal; on a pipe or log file a plain line every
 * `lineEverySec` seconds (default 15) so logs stay readable.
 */
export class ProgressBar {
  private readonly start = Date.now();
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly opts: { stream?: NodeJS.WriteStream; lineEverySec?: number; enabled?: boolean } = {},
  ) {
    this.tty = Boolean((opts.stream ?? process.stderr).isTTY);
  }

  /** Reports `done` units out of total, with extra fields (e.g. loss) shown after the bar. */
  update(done: number, fields: Record<string, string | number> = {}, force = false): void {
    if (this.opts.enabled === false) return;
    const now = Date.now();
    const every = this.tty ? 200 : (this.opts.lineEverySec ?? 15) * 1000;
    if (!force && now - this.lastDraw < every && done < this.total) return;
    this.lastDraw = now;
    const elapsed = (now - this.start) / 1000;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const eta = done > 0 ? (elapsed * (this.total - done)) / done : NaN;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : v}`)
      .join('  ');
    const stream = this.opts.stream ?? process.stderr;
    if (this.tty) {
      const width = 24;
      const fill = Math.round(frac * width);
      const bar = '#'.repeat(fill) + '-'.repeat(width - fill);
      stream.write(`\r${this.label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  ${extra}  ETA ${formatDuration(eta)}\x1b[K`);
      if (done >= this.total) stream.write('\n');
    } else {
      stream.write(`${this.label} ${done}/${this.total} (${(frac * 100).toFixed(0)}%)  ${extra}  elapsed ${formatDuration(elapsed)}  ETA ${formatDuration(eta)}\n`);
    }
  }
}
