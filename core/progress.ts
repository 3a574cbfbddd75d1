/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (logs and pipes stay
 * clean). Redraws at most 5 times a second, so calling `update` per row costs nothing.
 *
 *   ingest data.csv [#########-----------]  45% 412,000 rows 98,120 rows/s 14.2 MB/s ETA 0:06 rejected 12
 */

export interface ProgressState {
  /** Units done (rows, events...). */
  done: number;
  /** Bytes consumed, when the total size is known: drives the percentage and ETA. */
  bytes?: number;
  /**
   * Units in all, when known and there is no byte total (events behind a consumer, say): drives
   * the percentage and ETA instead.
   */
  total?: number;
  /** Extra counters shown after the rate, e.g. { rejected: 12 }. */
  extra?: Record<string, number>;
}

export interface ProgressOptions {
  label: string;
  /** Total bytes (file size) for the percentage and ETA; unknown for stdin. */
  totalBytes?: number;
  unit?: string;
  /** Where to draw. @defaultValue process.stderr */
  stream?: NodeJS.WriteStream;
  /** Draw even when the stream is not a TTY (tests). @defaultValue false */
  force?: boolean;
}

const fmt = new Intl.NumberFormat("en-US");

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  /** Whether it draws (the stream is a terminal, or `force`). */
  readonly enabled: boolean;
  private readonly started = Date.now();
  private last = 0;
  private drawn = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.enabled = options.force === true || this.stream.isTTY === true;
  }

  update(state: ProgressState, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < 200) return;
    this.last = now;
    this.stream.write(`\r${this.render(state, now)}\u001b[K`);
    this.drawn = true;
  }

  /** The line as drawn (exposed for tests). */
  render(state: ProgressState, now = Date.now()): string {
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const unit = this.options.unit ?? "rows";
    const parts = [this.options.label];
    // Progress is measured in bytes when the byte total is known, else in units.
    const byBytes = this.options.totalBytes !== undefined;
    const total = byBytes ? this.options.totalBytes : state.total;
    const amount = byBytes ? state.bytes : state.done;
    if (total !== undefined && total > 0 && amount !== undefined) {
      const ratio = Math.min(amount / total, 1);
      const width = 20;
      const full = Math.round(ratio * width);
      parts.push(
        `[${"#".repeat(full)}${"-".repeat(width - full)}] ${String(Math.floor(ratio * 100)).padStart(3)}%`,
      );
    }
    parts.push(
      `${fmt.format(state.done)} ${unit}`,
      `${fmt.format(Math.round(state.done / seconds))} ${unit}/s`,
    );
    if (state.bytes !== undefined) parts.push(`${(state.bytes / 1e6 / seconds).toFixed(1)} MB/s`);
    if (total !== undefined && total > 0 && amount !== undefined && amount > 0) {
      const eta = (Math.max(total - amount, 0) / amount) * seconds;
      parts.push(`ETA ${formatDuration(eta)}`);
    }
    for (const [name, value] of Object.entries(state.extra ?? {})) parts.push(`${name} ${fmt.format(value)}`);
    return parts.join(" ");
  }

  /** Clears the line (the caller prints its summary next). */
  done(): void {
    if (this.enabled && this.drawn) this.stream.write("\r\u001b[K");
    this.drawn = false;
  }
}
