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
      await sleep(6000);
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
