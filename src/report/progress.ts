// Progress of a long run on stderr: a bar redrawn in place on a terminal, fitted to its width;
// elsewhere (logs, CI) a plain line now and then, so a captured log stays readable.

export class ProgressBar {
  private readonly started = performance.now();
  private lastLine = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly total: number, private readonly from = 0) {}

  update(done: number, text: string): void {
    const fraction = done / this.total;
    const elapsed = (performance.now() - this.started) / 1e3;
    const rate = (done - this.from) / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const time = (s: number) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}` : '?');
    const rest = ` ${done}/${this.total} ${text} | ${time(elapsed)} elapsed, ETA ${time(eta)}`;
    // Fitted to the terminal: a line that wraps is redrawn below itself and floods a narrow one.
    const columns = (process.stderr.columns || 80) - 1;
    const width = Math.max(5, Math.min(24, columns - rest.length - 2));
    const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
    const line = `[${bar}]${rest}`;
    if (this.tty) process.stderr.write(`\r${line.slice(0, columns)}\x1b[K`);
    else if (performance.now() - this.lastLine > 5000 || done === this.total) {
      process.stderr.write(`${line}\n`);
      this.lastLine = performance.now();
    }
  }

  /** A line that stays (an evaluation), above the bar. */
  note(text: string): void {
    process.stderr.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}
