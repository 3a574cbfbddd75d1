import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "./retry.ts";
import { generateEvents } from "./test/events.ts";
import { Pipeline } from "./test/harness.ts";
import { PrivateRedis } from "./test/private-redis.ts";
import { produceEvents } from "./test/produce.ts";
import { minioFiles } from "./test/stores.ts";

/**
 * Redis losing its data, for real: the pipeline runs against a Redis server of the test's own
 * (never the shared one), which is killed with SIGKILL in the middle of a run and started again
 * empty (no persistence): payloads, jobs, locks and the cut registry are gone. The dispatcher
 * must replay from the committed Kafka offsets, the run must finish and exit by itself, and
 * everything must equal the independent computation. A SIGTERM while Redis is down must end the
 * process within the stop deadline (15 s).
 */

/** Longer than the dispatcher's Kafka session timeout (30 s): the dispatcher, blocked on Redis, is thrown out of the group and rejoins. */
const OUTAGE_MS = 35_000;

async function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | null | "timeout"> {
  if (child.exitCode !== null) return child.exitCode;
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const result = await Promise.race([exit, sleep(timeoutMs).then(() => "timeout" as const)]);
  if (result === "timeout") {
    child.kill("SIGKILL");
    await exit;
  }
  return result;
}

async function waitForLakeFiles(pipeline: Pipeline, moreThan: number): Promise<void> {
  const started = Date.now();
  while ((await minioFiles(pipeline.minio, pipeline.name)).size <= moreThan) {
    if (Date.now() - started > 60_000) throw new Error(`no new lake file after 60 s`);
    await sleep(200);
  }
}

describe("Redis loses its data mid-run", () => {
  const redis = new PrivateRedis();
  let pipeline: Pipeline;
  const first = generateEvents(6000, 808, 150, 3);
  const second = generateEvents(6000, 909, 150, 3);

  beforeAll(async () => {
    await redis.start();
    pipeline = new Pipeline({ hdfs: true, env: { REDIS_URL: redis.url } });
    await pipeline.setup();
    await produceEvents(pipeline.kafka, pipeline.name, 3, first, { poison: ["not json"] });
  });
  afterAll(async () => {
    await redis.start().catch(() => undefined);
    await pipeline?.cleanup();
    await redis.kill();
  });

  it("killed and restarted empty mid-run: the run replays from Kafka, finishes and exits 0; nothing lost or doubled", async () => {
    const child = pipeline.spawn(["--until-idle", "--json", "--range-size", "100", "--lock-ms", "5000"]);
    let stdout = "";
    child.stdout?.on("data", (d) => {
      stdout += String(d);
    });
    await waitForLakeFiles(pipeline, 0);
    expect(child.exitCode, "the run must still be going when Redis dies").toBeNull();
    await redis.kill();
    await sleep(OUTAGE_MS);
    expect(child.exitCode, "the run waits for Redis").toBeNull();
    await redis.start();
    const code = await exitOf(child, 180_000);
    expect(code, `exit (log: ${pipeline.logFile})`).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: "idle" });
    // The lost data was noticed and replayed (not a run that happened to be done before the loss).
    const log = await readFile(pipeline.logFile, "utf8");
    expect(log).toContain("replaying the partition from its committed offset");
    await pipeline.verify(first);
  }, 360_000);

  it("SIGTERM while Redis is down ends the process within 15 s; the next run, on an empty Redis, completes exactly", async () => {
    const filesBefore = (await minioFiles(pipeline.minio, pipeline.name)).size;
    await produceEvents(pipeline.kafka, pipeline.name, 3, second);
    const child = pipeline.spawn(["--until-idle", "--json", "--range-size", "100", "--lock-ms", "5000"]);
    await waitForLakeFiles(pipeline, filesBefore);
    expect(child.exitCode, "the run must still be going when Redis dies").toBeNull();
    await redis.kill();
    await sleep(3000);
    const stoppedAt = Date.now();
    child.kill("SIGTERM");
    const code = await exitOf(child, 30_000);
    const stopSeconds = (Date.now() - stoppedAt) / 1000;
    expect(code).toBe(0);
    expect(stopSeconds).toBeLessThan(17);

    await redis.start();
    const run = await pipeline.run(["--until-idle", "--json", "--lock-ms", "5000"], 180_000);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "idle" });
    await pipeline.verify([...first, ...second]);
  }, 360_000);
});
