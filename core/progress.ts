import { type TerminalLine, terminalLine } from "./terminal.ts";
import { count, num } from "./text.ts";

/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (logs and pipes stay
 * clean), on the terminal's last line: log lines print above it (core/terminal.ts). Redraws at
 * most 5 times a second, so calling `update` per row costs nothing.
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

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/**
 * Seconds over which the rate behind the ETA is averaged: long enough that one slow second (a
 * flush, a garbage collection) does not make the ETA jump, short enough to follow a real change.
 */
const RATE_WINDOW_S = 10;

export class Progress {
  private readonly line: TerminalLine;
  /** Whether it draws (the stream is a terminal, or `force`). */
  readonly enabled: boolean;
  private readonly started = Date.now();
  private last = 0;
  private drawn = false;
  /** The measure of progress (bytes or units) and its smoothed rate per second. */
  private sample: { at: number; amount: number } | undefined;
  private rate: number | undefined;

  constructor(private readonly options: ProgressOptions) {
    const stream = options.stream ?? process.stderr;
    this.line = terminalLine(stream);
    this.enabled = options.force === true || stream.isTTY === true;
  }

  update(state: ProgressState, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < 200) return;
    this.last = now;
    this.observe(state, now);
    this.line.setStatus(this.render(state, now));
    this.drawn = true;
  }

  /** Folds a new measurement into the smoothed rate (an exponential moving average over time). */
  private observe(state: ProgressState, now: number): void {
    const amount = this.options.totalBytes !== undefined ? state.bytes : state.done;
    if (amount === undefined) return;
    const previous = this.sample;
    this.sample = { at: now, amount };
    if (!previous) return;
    const dt = (now - previous.at) / 1000;
    if (dt <= 0) return;
    const instant = Math.max(amount - previous.amount, 0) / dt;
    if (this.rate === undefined) {
      const elapsed = Math.max((now - this.started) / 1000, 0.001);
      this.rate = amount / elapsed;
    }
    this.rate += (1 - Math.exp(-dt / RATE_WINDOW_S)) * (instant - this.rate);
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
      count(state.done, unit.replace(/s$/, ""), unit),
      `${num(Math.round(state.done / seconds))} ${unit}/s`,
    );
    if (state.bytes !== undefined) parts.push(`${(state.bytes / 1e6 / seconds).toFixed(1)} MB/s`);
    if (total !== undefined && total > 0 && amount !== undefined && amount > 0) {
      // The smoothed rate once there are two measurements, the average since the start before.
      const rate = this.rate !== undefined && this.rate > 0 ? this.rate : amount / seconds;
      parts.push(`ETA ${formatDuration(Math.max(total - amount, 0) / rate)}`);
    }
    for (const [name, value] of Object.entries(state.extra ?? {})) parts.push(`${name} ${num(value)}`);
    return parts.join(" ");
  }

  /** Clears the line (the caller prints its summary next). */
  done(): void {
    if (this.enabled && this.drawn) this.line.clearStatus();
    this.drawn = false;
  }
}
