import { describe, expect, it } from "vitest";
import { loadConfig } from "../core/config/index.ts";
import { ARCHIVE_QUEUE, INDEX_QUEUE } from "../processing/jobs.ts";
import { dispatcherGroup as processingGroup } from "../processing/run.ts";
import { dispatcherGroup } from "./checks/pipeline.ts";
import { SINK_QUEUES } from "./checks/redis.ts";

/**
 * The monitor watches what processing runs: the same queue names and consumer group. processing
 * does not export these from its face, so the monitor keeps its own copy; this test keeps the two
 * equal.
 */
describe("names shared with processing", () => {
  it("watches the queues the workers consume", () => {
    expect([...SINK_QUEUES].sort()).toEqual([ARCHIVE_QUEUE, INDEX_QUEUE].sort());
  });

  it("watches the dispatcher's consumer group", () => {
    for (const clientId of ["capline", "other-client"]) {
      const config = loadConfig({ env: { KAFKA_CLIENT_ID: clientId }, root: "/nonexistent" });
      expect(dispatcherGroup(clientId)).toBe(processingGroup(config));
    }
  });
});
