import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
