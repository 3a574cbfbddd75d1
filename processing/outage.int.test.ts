import { afterAll, describe, expect, it } from "vitest";
import type { ServiceName } from "../stack/index.ts";
import { startService, stopService } from "../stack/index.ts";
import { sleep } from "./retry.ts";
import { dlqRecords } from "./test/dlq.ts";
import { generateEvents } from "./test/events.ts";
import { Pipeline } from "./test/harness.ts";
import { produceEvents } from "./test/produce.ts";
import { minioFiles } from "./test/stores.ts";

/**
 * Sink outages for real (issue 4, item 4b): a real service of the local stack — Elasticsearch,
 * MinIO, HDFS or Redis — is stopped in the middle of a `capline process --until-idle` run, kept
 * down for about 15 s and started again (always, in `finally`). The run must ride it out and finish
 * on its own; then every profile, every aggregate and the Parquet rows of both stores equal the
 * independent computation, and the poison messages are in the DLQ, counted.
 *
 * These tests stop shared services: other suites running at the same time see the outage too.
 * vitest runs integration files one at a time; run this file deliberately, not in loops.
 */

const OUTAGE_MS = 15_000;

/**
 * Makes sure the services a check reads answer. Another suite that starts while one of ours is
 * stopped starts it itself and, by the integration global setup's rule, stops it again when it
 * ends: a restart here keeps that from being mistaken for a pipeline failure.
 */
async function ensureUp(pipeline: Pipeline): Promise<void> {
  for (const name of ["redis", "minio", "hdfs", "elasticsearch"] as const)
    await startService(pipeline.config, name);
}

describe.each<ServiceName>(["elasticsearch", "minio", "hdfs", "redis"])("%s outage mid-run", (service) => {
  const pipeline = new Pipeline({ hdfs: true });
  const events = generateEvents(6000, 500 + service.length, 150, 3);
  afterAll(() => pipeline.cleanup());

  it(`${service} stopped for ${OUTAGE_MS / 1000} s mid-run: the run finishes exactly, nothing lost or doubled`, async () => {
    await ensureUp(pipeline);
    await pipeline.setup();
    await produceEvents(pipeline.kafka, pipeline.name, 3, events, { poison: ["not json", '{"event_id":1}'] });
    const child = pipeline.spawn(["--until-idle", "--json", "--range-size", "100", "--lock-ms", "5000"]);
    let stdout = "";
    child.stdout?.on("data", (d) => {
      stdout += String(d);
    });
    const exit = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    // Mid-run: the first files are in the lake, and the run is far from done.
    const t0 = Date.now();
    while ((await minioFiles(pipeline.minio, pipeline.name).then((f) => f.size)) === 0) {
      if (Date.now() - t0 > 60_000) throw new Error("no lake file after 60 s");
      await sleep(250);
    }
    expect(child.exitCode, "the run must still be going when the outage starts").toBeNull();
    try {
      const outcome = await stopService(pipeline.config, service, 10_000);
      expect(["stopped", "killed"]).toContain(outcome);
      await sleep(OUTAGE_MS);
      expect(child.exitCode, "the run survives the outage").toBeNull();
    } finally {
      await startService(pipeline.config, service);
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    const code = await exit;
    clearTimeout(timer);
    expect(code, stdout).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: "idle", dispatcher: { events: 6000, dlq: 2 } });
    await ensureUp(pipeline);
    await pipeline.verify(events);
    // The two poison messages: in the DLQ with a reason, each once by key.
    const dlq = await dlqRecords(pipeline);
    expect([...dlq.values()].map((r) => r.raw).sort()).toEqual(["not json", '{"event_id":1}'].sort());
    for (const r of dlq.values()) expect(r.reason).toBe("invalid_event");
  }, 420_000);
});
