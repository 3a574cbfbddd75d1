import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "./retry.ts";
import { generateEvents, rng } from "./test/events.ts";
import { Pipeline } from "./test/harness.ts";
import { createTopic, produceEvents } from "./test/produce.ts";
import { minioFiles } from "./test/stores.ts";

/**
 * Faults for real: worker and dispatcher processes are killed with SIGKILL at random moments while
 * events are still arriving, and restarted; then the whole topic is replayed from offset 0 with a
 * different range size and no cut registry (the same ranges delivered again, cut differently).
 * After each, every document and the lake in both stores equal the independent computation.
 */
describe("faults", () => {
  const pipeline = new Pipeline({ hdfs: true });
  const events = generateEvents(12_000, 77, 300, 3);

  beforeAll(async () => {
    await pipeline.setup();
    await createTopic(pipeline.kafka, pipeline.name, 3);
  });
  afterAll(() => pipeline.cleanup());

  it("kill -9 of workers and the dispatcher mid-run, then restart: nothing lost, nothing doubled", async () => {
    const rand = rng(4242);
    const producing = produceEvents(pipeline.kafka, pipeline.name, 3, events, { batch: 400 });
    const dispatcherArgs = ["dispatcher", "--range-size", "300", "--max-in-flight", "4"];
    const workerArgs = ["worker", "--concurrency", "3", "--lock-ms", "3000"];
    let dispatcher: ChildProcess | undefined;
    const workers: ChildProcess[] = [];
    let kills = 0;
    try {
      dispatcher = pipeline.spawn(dispatcherArgs);
      workers.push(pipeline.spawn(workerArgs), pipeline.spawn(workerArgs));
      // Workers die every few seconds; the dispatcher twice (a dead group member keeps its partitions
      // until its session times out, 30 s, so killing it more often would only stall the run).
      const started = Date.now();
      const dispatcherKills = [12_000, 30_000];
      while (Date.now() - started < 45_000) {
        await sleep(1500 + rand() * 2500);
        if (dispatcherKills.length > 0 && Date.now() - started > (dispatcherKills[0] ?? 0)) {
          dispatcherKills.shift();
          dispatcher?.kill("SIGKILL");
          dispatcher = pipeline.spawn(dispatcherArgs);
        } else {
          const i = Math.floor(rand() * workers.length);
          workers[i]?.kill("SIGKILL");
          workers[i] = pipeline.spawn(workerArgs);
        }
        kills++;
      }
      await producing;
    } finally {
      for (const child of [dispatcher, ...workers]) child?.kill("SIGKILL");
    }
    expect(kills).toBeGreaterThan(8);
    // The kills hit a pipeline at work: part of the data was already through before the final run.
    expect((await minioFiles(pipeline.minio, pipeline.name)).size).toBeGreaterThan(0);
    const run = await pipeline.run(["--until-idle", "--json", "--lock-ms", "3000"]);
    expect(run.code, run.stderr).toBe(0);
    await pipeline.verify(events);
  });

  it("a full replay from offset 0, cut differently, changes nothing", async () => {
    await pipeline.forgetProgress();
    const run = await pipeline.run(["--until-idle", "--json", "--range-size", "777", "--lock-ms", "3000"]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "idle", dispatcher: { events: 12_000 } });
    await pipeline.verify(events);
  });
});
