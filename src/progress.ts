/**
 * Progress for long-running commands (replay, exports, benchmarks): a redrawn bar on a
 * terminal, one plain line per update otherwise (CI logs, tests reading stderr).
 */
export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  update(done: number, force = false): void {
    const now = performance.now();
    if (!force && this.tty && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    const ratio = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const pct = Math.floor(ratio * 100);
    const text = `${this.label}: ${done.toLocaleString("en-US")}/${this.total.toLocaleString("en-US")} (${pct}%) ${rate.toLocaleString("en-US")}/s`;
    if (this.tty) {
      const width = 30;
      const filled = Math.round(ratio * width);
      this.out.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${text}   `);
    } else {
      this.out.write(text + "\n");
    }
  }

  finish(done: number): { seconds: number; perSecond: number } {
    this.update(done, true);
    if (this.tty) this.out.write("\n");
    const seconds = (performance.now() - this.started) / 1000;
    return { seconds, perSecond: seconds > 0 ? done / seconds : 0 };
  }
}
