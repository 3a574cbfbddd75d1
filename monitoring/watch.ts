import type { Config } from "../core/config/index.ts";
import { snakeKeys } from "../core/json/index.ts";
import type { MonitorState } from "./checks/context.ts";
import type { MonitorOptions } from "./options.ts";
import { renderChanges, renderTable } from "./render.ts";
import { runChecks } from "./run.ts";
import type { MonitorReport } from "./types.ts";
import { MONITOR_DATA_KEYS } from "./types.ts";

export interface WatchOptions {
  intervalSeconds: number;
  /** One JSON report per line and round. */
  json: boolean;
  /** Redraw in place (clear + home); otherwise one line per status change. */
  tty: boolean;
  color: boolean;
  write: (text: string) => void;
  /** Aborting stops the loop (Ctrl-C), even in the middle of a round or a wait. */
  signal: AbortSignal;
}

const CLEAR_HOME = "\x1b[H\x1b[2J";

/** `promise`'s value, or undefined as soon as the signal aborts (listener removed either way). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve(undefined);
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** `capline monitor --watch`: a round every interval until the signal aborts. Returns the rounds run. */
export async function watch(config: Config, options: MonitorOptions, w: WatchOptions): Promise<number> {
  const state: MonitorState = {};
  let previous: MonitorReport | undefined;
  let rounds = 0;
  while (!w.signal.aborted) {
    const started = Date.now();
    // Ctrl-C during a round stops at once; the round closes its connections in the background.
    const report = await untilAborted(runChecks(config, options, state), w.signal);
    if (report === undefined || w.signal.aborted) break;
    rounds++;
    if (w.json) w.write(`${JSON.stringify(snakeKeys(report, MONITOR_DATA_KEYS))}\n`);
    else if (w.tty)
      w.write(
        `${CLEAR_HOME}${renderTable(report, { color: w.color })}\nevery ${w.intervalSeconds} s; Ctrl-C to quit\n`,
      );
    else for (const line of renderChanges(previous, report)) w.write(`${line}\n`);
    previous = report;
    const wait = Math.max(0, w.intervalSeconds * 1000 - (Date.now() - started));
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        w.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      w.signal.addEventListener("abort", done, { once: true });
    });
  }
  return rounds;
}
