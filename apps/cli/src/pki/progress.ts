// A progress bar for bulk issuance, on stderr so stdout stays machine-readable. Redraws in place on a
// terminal; elsewhere prints a line every 10 %.
export class ProgressBar {
  private lastDecile = -1;
  private readonly started = Date.now();

  constructor(private readonly total: number, private readonly out: NodeJS.WriteStream = process.stderr) {}

  update(done: number): void {
    const frac = this.total === 0 ? 1 : done / this.total;
    if (this.out.isTTY) {
      const width = 30;
      const filled = Math.round(frac * width);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${this.rate(done)}`);
      if (done === this.total) this.out.write('\n');
      return;
    }
    const decile = Math.floor(frac * 10);
    if (decile !== this.lastDecile || done === this.total) {
      this.lastDecile = decile;
      this.out.write(`${done}/${this.total} (${Math.round(frac * 100)}%) ${this.rate(done)}\n`);
    }
  }

  private rate(done: number): string {
    const s = (Date.now() - this.started) / 1000;
    return s > 0 ? `${Math.round(done / s)}/s` : '';
  }
}
