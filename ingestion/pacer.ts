import { isoToMillis } from "./timestamp.ts";

/** --rate and --replay-speed: how long to wait before sending the next event. */
export class Pacer {
  private readonly start: number;
  private sent = 0;
  private firstEventMs: number | undefined;
  constructor(
    private readonly rate: number | undefined,
    private readonly replaySpeed: number | undefined,
    private readonly clock: () => number = Date.now,
  ) {
    this.start = clock();
  }
  get active(): boolean {
    return this.rate !== undefined || this.replaySpeed !== undefined;
  }
  /** Milliseconds to wait before this event goes out. */
  delayFor(eventIso: string): number {
    const now = this.clock();
    let wait = 0;
    if (this.rate !== undefined) wait = Math.max(wait, this.start + (this.sent / this.rate) * 1000 - now);
    if (this.replaySpeed !== undefined) {
      const ms = isoToMillis(eventIso);
      this.firstEventMs ??= ms;
      wait = Math.max(wait, this.start + (ms - this.firstEventMs) / this.replaySpeed - now);
    }
    this.sent++;
    return wait;
  }
}
