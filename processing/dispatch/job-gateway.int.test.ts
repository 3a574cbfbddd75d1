import { randomUUID } from "node:crypto";
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "../../core/clients/redis.ts";
import { loadConfig } from "../../core/config/index.ts";
import { logger } from "../../core/logging.ts";
import { QUEUES, rangeId } from "../../core/names.ts";
import { deleteQueueKeys } from "../../setup/redis.ts";
import type { RangeJobData } from "../jobs.ts";
import { sleep } from "../retry.ts";
import { JobGateway, type JobOutcome } from "./job-gateway.ts";

/**
 * The job gateway against the stack's real Redis and BullMQ, with real BullMQ workers running the
 * jobs: completions arrive by QueueEvents (the safety-net poll is set to a minute, so a test that
 * passes did not wait for it), a job that fails for good is reported once and held, and the poll
 * finds what the events cannot say (a job that disappeared).
 */

const config = loadConfig();
const connection = { url: config.redis.url, maxRetriesPerRequest: null } as const;
const log = logger("test");
let redis: Redis;
const prefixes: string[] = [];
const workers: Worker[] = [];
const gateways: JobGateway[] = [];

beforeAll(() => {
  redis = createRedis(config);
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  for (const w of workers) await w.close(true);
  for (const p of prefixes) await deleteQueueKeys(redis, p);
  redis.disconnect();
});

const data = (partition: number, first: number, last: number): RangeJobData => ({
  topic: "events",
  partition,
  first,
  last,
  payloadKey: `unused-${first}`,
  events: last - first + 1,
  dlq: 0,
});

async function setup(pollMs = 60_000) {
  const prefix = `gw-test-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  const outcomes: JobOutcome[] = [];
  const gateway = new JobGateway({ connection, queuePrefix: prefix, pollMs }, (o) => outcomes.push(o), log);
  gateways.push(gateway);
  await gateway.start();
  return { prefix, outcomes, gateway };
}

function work(
  prefix: string,
  kind: "archive" | "index",
  run: (job: Job<RangeJobData>) => Promise<unknown>,
): Worker {
  const worker = new Worker<RangeJobData>(QUEUES[kind], run, {
    connection,
    prefix,
    settings: { backoffStrategy: () => 50 },
  });
  workers.push(worker);
  return worker;
}

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(25);
  }
}

const summary = (outcomes: JobOutcome[]) =>
  outcomes.map((o) => `${o.kind}:${o.data.first}:${o.result}`).sort((a, b) => a.localeCompare(b));

describe("JobGateway (real Redis and BullMQ)", () => {
  it("reports completions from BullMQ's events, a retried attempt only once it succeeds", async () => {
    const { prefix, outcomes, gateway } = await setup();
    let attempts = 0;
    work(prefix, "archive", async (job) => {
      // The second range fails twice (a sink down), then succeeds: no "failed" outcome.
      if (job.data.first === 10 && ++attempts < 3) throw new Error("ECONNREFUSED");
      return "ok";
    });
    work(prefix, "index", async () => "ok");
    await gateway.add("archive", data(0, 0, 9));
    await gateway.add("archive", data(0, 10, 19));
    await gateway.add("index", data(0, 0, 9));
    await until(() => outcomes.length === 3);
    expect(summary(outcomes)).toEqual(["archive:0:completed", "archive:10:completed", "index:0:completed"]);
    expect(attempts).toBe(3);
    expect(gateway.pending).toBe(0);
    expect(gateway.stats).toEqual({ failed: 0, unknown: 0 });
  });

  it("reports a job that had completed before it was added again (a replayed range) at once", async () => {
    const { prefix, outcomes, gateway } = await setup();
    const queue = new Queue<RangeJobData>(QUEUES.archive, { connection, prefix });
    await queue.add(QUEUES.archive, data(1, 0, 9), { jobId: rangeId(data(1, 0, 9)) });
    work(prefix, "archive", async () => "ok");
    for (let i = 0; (await queue.getJobState(rangeId(data(1, 0, 9)))) !== "completed"; i++) {
      if (i > 400) throw new Error("the job did not complete");
      await sleep(50);
    }
    await gateway.add("archive", data(1, 0, 9));
    expect(summary(outcomes)).toEqual(["archive:0:completed"]);
    await queue.close();
  });

  it("a job that fails for good (UnrecoverableError) is reported once, counted, kept failed, and retried once when added again", async () => {
    const { prefix, outcomes, gateway } = await setup(300);
    let runs = 0;
    let fixed = false;
    work(prefix, "index", async () => {
      runs++;
      if (!fixed) throw new UnrecoverableError("mapper_parsing_exception: field [price] of type [long]");
      return "ok";
    });
    await gateway.add("index", data(2, 0, 9));
    await until(() => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ kind: "index", result: "failed" });
    expect(outcomes[0]?.result === "failed" && outcomes[0].reason).toMatch(/mapper_parsing_exception/);
    // Not retried in a loop: several polls later it ran once and was reported once.
    await sleep(1500);
    expect(runs).toBe(1);
    expect(outcomes).toHaveLength(1);
    expect(gateway.stats.failed).toBe(1);
    const queue = new Queue<RangeJobData>(QUEUES.index, { connection, prefix });
    expect(await queue.getJobState(rangeId(data(2, 0, 9)))).toBe("failed");
    // The partition is dispatched again (a restart after the cause was fixed): one retry, it completes.
    fixed = true;
    await gateway.add("index", data(2, 0, 9));
    await until(() => outcomes.length === 2);
    expect(outcomes[1]).toMatchObject({ kind: "index", result: "completed" });
    expect(runs).toBe(2);
    await queue.close();
  });

  it("the safety-net poll reports a job that disappeared, and remove() deletes committed jobs", async () => {
    const { prefix, outcomes, gateway } = await setup(200);
    const queue = new Queue<RangeJobData>(QUEUES.archive, { connection, prefix });
    // No worker: the job waits; then it is removed behind the gateway's back (Redis lost it).
    await gateway.add("archive", data(3, 0, 9));
    await queue.remove(rangeId(data(3, 0, 9)));
    await until(() => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ kind: "archive", result: "unknown" });
    expect(gateway.stats.unknown).toBe(1);
    await gateway.add("archive", data(3, 10, 19));
    await gateway.add("archive", data(4, 0, 9));
    gateway.forgetPartition(4);
    expect(gateway.pending).toBe(1);
    await gateway.remove([{ topic: "events", partition: 3, first: 10, last: 19 }]);
    expect(gateway.pending).toBe(0);
    expect(await queue.getJobState(rangeId(data(3, 10, 19)))).toBe("unknown");
    await sleep(500);
    expect(outcomes).toHaveLength(1);
    await queue.close();
  });
});
