import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "./retry.ts";
import { generateEvents } from "./test/events.ts";
import { Pipeline } from "./test/harness.ts";
import { produceEvents } from "./test/produce.ts";

/**
 * `capline process --until-idle` end to end, as a child process against the real services: every
 * profile and aggregate and the Parquet rows of both stores equal the independent computation,
 * and a second run (a full replay situation: nothing new) changes nothing.
 */
describe("capline process end to end", () => {
  const pipeline = new Pipeline({ hdfs: true });
  const events = generateEvents(6000, 21, 120, 3);

  beforeAll(async () => {
    await pipeline.setup();
    await produceEvents(pipeline.kafka, pipeline.name, 3, events, { poison: ["not json", '{"event_id":1}'] });
  });
  afterAll(() => pipeline.cleanup());

  it("processes everything exactly once and exits when idle", async () => {
    const run = await pipeline.run(["--until-idle", "--json", "--range-size", "1000"]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ status: "idle", dispatcher: { events: 6000, dlq: 2 } });
    await pipeline.verify(events);
    // --until-idle scores RFM before exiting.
    expect(summary.rfm.purchasers).toBeGreaterThan(0);
    await pipeline.verifyRfm(events);
  });

  it("a second run finds nothing to do and changes nothing", async () => {
    const run = await pipeline.run(["--until-idle", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "idle", dispatcher: { events: 0 } });
    await pipeline.verify(events);
  });
});

describe("capline process stops cleanly on SIGTERM and SIGINT", () => {
  const pipeline = new Pipeline({ hdfs: false });
  const events = generateEvents(8000, 5, 150, 2);

  beforeAll(async () => {
    await pipeline.setup();
    await produceEvents(pipeline.kafka, pipeline.name, 3, events);
  });
  afterAll(() => pipeline.cleanup());

  for (const [signal, code] of [
    ["SIGTERM", 0],
    ["SIGINT", 130],
  ] as const)
    it(`${signal} mid-run: exit ${code} within seconds; the next run completes exactly`, async () => {
      const child = pipeline.spawn(["--range-size", "200", "--json"]);
      // Mid-run: the dispatcher has joined its group and work is under way (a loaded machine can
      // take seconds just to start the process; a signal before then is not what this tests).
      await pipeline.waitForDispatcher(60_000);
      await sleep(3000);
      const stoppedAt = Date.now();
      child.kill(signal);
      const exit = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
      expect(exit).toBe(code);
      expect(Date.now() - stoppedAt).toBeLessThan(30_000);
    });

  it("after the interrupted runs, --until-idle completes and equals the reference", async () => {
    const run = await pipeline.run(["--until-idle", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    await pipeline.verify(events);
  });
});

describe("capline process on a terminal", () => {
  const pipeline = new Pipeline({ hdfs: false });
  const events = generateEvents(30_000, 8, 400, 3);

  beforeAll(async () => {
    await pipeline.setup();
    await produceEvents(pipeline.kafka, pipeline.name, 3, events);
  });
  afterAll(() => pipeline.cleanup());

  it("draws a progress bar with percentage, rate, ETA and backlog, then the summary", async () => {
    const run = await pipeline.run(["--until-idle", "--range-size", "1000"], 240_000, true);
    expect(run.code, run.stdout).toBe(0);
    // Each redraw is "\r<line>" followed by the erase-to-end-of-line sequence ESC [ K.
    const lines = run.stdout.split(/[\r\n]+/).map((l) => l.replaceAll("\u001b[K", ""));
    const bars = lines.filter((l) => l.startsWith("process (all) ["));
    expect(bars.length, run.stdout).toBeGreaterThan(0);
    // Before the first commit there is no rate yet, hence no ETA; after it, always one (h:mm:ss
    // once it is an hour or more, as it can be early on a loaded machine).
    for (const bar of bars)
      expect(bar).toMatch(
        /^process \(all\) \[[#-]{20}\] +\d+% [\d,]+ events? (0 events\/s|[\d,]+ events\/s ETA (\d+:)?\d+:\d\d) uncommitted [\d,]+$/,
      );
    expect(
      bars.some((b) => / ETA \d+:\d\d /.test(b)),
      run.stdout,
    ).toBe(true);
    // The backlog only shrinks while nothing new arrives, and the bar is cleared before the summary.
    const backlogs = bars.map((b) => Number(/uncommitted ([\d,]+)$/.exec(b)?.[1]?.replace(/,/g, "")));
    expect(backlogs).toEqual([...backlogs].sort((a, b) => b - a));
    expect(lines.at(-1) === "" ? lines.at(-2) : lines.at(-1)).toMatch(
      /^process \(all\) finished: lag 0, queues empty/,
    );
    await pipeline.verify(events);
  });
});
