import { Queue, QueueEvents } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "../core/clients/redis.ts";
import { logger } from "../core/logging.ts";
import { aliasName, concreteIndexName, payloadKey, rangeId } from "../core/names.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import { Clients } from "../monitoring/checks/context.ts";
import { checkDlq } from "../monitoring/checks/pipeline.ts";
import { checkBullmq } from "../monitoring/checks/redis.ts";
import { monitorOptions } from "../monitoring/options.ts";
import { kafkaDlqWriter } from "./dlq.ts";
import { ARCHIVE_QUEUE, encodePayload, INDEX_QUEUE, RANGE_JOB_OPTIONS, type RangeJobData } from "./jobs.ts";
import type { RangeEvent } from "./lake.ts";
import type { ProfileDocument } from "./profiles.ts";
import { failedJobs, lakeStores } from "./run.ts";
import { dlqRecords } from "./test/dlq.ts";
import { generateEvents, referenceProfiles } from "./test/events.ts";
import { Pipeline } from "./test/harness.ts";
import { createTopic, produceEvents } from "./test/produce.ts";
import { allDocuments } from "./test/stores.ts";
import { Workers } from "./worker.ts";

/**
 * The poison-record policy for real (docs/processing.md, "Poison records"): records that no
 * retry can make a sink take go to the DLQ with the reason, and everything else is exact; a job
 * that can never succeed fails, visibly, instead of looping.
 */

const longId = "9".repeat(600);

function poisonEvent(base: CaplineEvent, change: Partial<CaplineEvent>): CaplineEvent {
  return { ...base, event_id: `poison-${Object.keys(change).join("-")}`, ...change };
}

describe("records no sink can hold, produced straight into the topic", () => {
  const pipeline = new Pipeline({ hdfs: true });
  const events = generateEvents(4000, 31, 90, 4);
  const base = events[0] as CaplineEvent;
  const poison = [
    poisonEvent(base, { user_id: longId }),
    poisonEvent(base, { event_time: "+010000-01-01T00:00:00.000Z" }),
    poisonEvent(base, { price: 1e15 }),
  ];

  beforeAll(async () => {
    await pipeline.setup();
    await produceEvents(pipeline.kafka, pipeline.name, 3, events, {
      poison: poison.map((e) => JSON.stringify(e)),
    });
  });
  afterAll(() => pipeline.cleanup());

  it("end the run; every other event is exact in Elasticsearch, MinIO and HDFS; each is in the DLQ with its reason", async () => {
    const run = await pipeline.run(["--until-idle", "--json", "--range-size", "500"]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "idle", dispatcher: { events: 4000, dlq: 3 } });
    await pipeline.verify(events);
    const dlq = [...(await dlqRecords(pipeline)).values()];
    const byRaw = new Map(dlq.map((r) => [r.raw, r]));
    expect(byRaw.get(JSON.stringify(poison[0]))).toMatchObject({
      reason: "id_too_long",
      detail: expect.stringContaining("user_id is 600 bytes"),
    });
    expect(byRaw.get(JSON.stringify(poison[1]))).toMatchObject({
      reason: "out_of_range",
      detail: expect.stringContaining("event_time"),
    });
    expect(byRaw.get(JSON.stringify(poison[2]))).toMatchObject({
      reason: "out_of_range",
      detail: expect.stringContaining("price"),
    });
    expect(dlq).toHaveLength(3);
  });
});

/**
 * Jobs queued by hand, with payloads the dispatcher would never make: "another path" to the
 * workers, which must hold the policy on their own.
 */
describe("the workers' own policy", () => {
  const pipeline = new Pipeline({ hdfs: false });
  const redis = createRedis(pipeline.config);
  const connection = { url: pipeline.config.redis.url, maxRetriesPerRequest: null } as const;
  const queueOptions = { connection, prefix: pipeline.name };
  const queues = [ARCHIVE_QUEUE, INDEX_QUEUE].map((name) => new Queue<RangeJobData>(name, queueOptions));
  const events = generateEvents(600, 32, 20, 2);
  const refusedUser = longId;
  // A third of one user's events get an _id Elasticsearch refuses: the worker must not screen
  // it (the dispatcher would), so the refusal is the server's own.
  const rows: RangeEvent[] = events.map((event, i) => ({
    offset: i,
    event: event.user_id === events[0]?.user_id ? { ...event, user_id: refusedUser } : event,
  }));
  const refused = rows.filter((r) => r.event.user_id === refusedUser);
  const accepted = rows.filter((r) => r.event.user_id !== refusedUser).map((r) => r.event);
  let workers: Workers;
  const started = Date.now();

  beforeAll(async () => {
    await pipeline.setup();
    await createTopic(pipeline.kafka, pipeline.name, 1);
    await createTopic(pipeline.kafka, pipeline.config.kafka.dlqTopic, 1);
    workers = new Workers(
      pipeline.es,
      redis,
      {
        queuePrefix: pipeline.name,
        connection,
        indexPrefix: pipeline.name,
        stores: lakeStores(pipeline.config),
        dlq: kafkaDlqWriter(pipeline.config),
      },
      logger("worker-test"),
    );
    workers.start();
  });
  afterAll(async () => {
    await workers.stop(2000);
    for (const q of queues) await q.close();
    redis.disconnect();
    await pipeline.cleanup();
  });

  async function runJob(queue: Queue<RangeJobData>, data: RangeJobData): Promise<"completed" | "failed"> {
    const events = new QueueEvents(queue.name, queueOptions);
    try {
      await events.waitUntilReady();
      const job = await queue.add(queue.name, data, { ...RANGE_JOB_OPTIONS, jobId: rangeId(data) });
      const deadline = Date.now() + 60_000;
      for (;;) {
        const state = await job.getState();
        if (state === "completed" || state === "failed") return state;
        if (Date.now() > deadline) throw new Error(`job ${job.id} still ${state} after 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await events.close();
    }
  }

  it("a document Elasticsearch refuses: its events go to the DLQ with the server's reason, the range completes, the rest is exact", async () => {
    const range = { topic: pipeline.name, partition: 0, first: 0, last: rows.length - 1 };
    const key = payloadKey(pipeline.name, range);
    await redis.set(key, encodePayload(rows));
    const [archive, index] = queues as [Queue<RangeJobData>, Queue<RangeJobData>];
    const data = { ...range, payloadKey: key, events: rows.length, dlq: 0 };
    expect(await runJob(index, data)).toBe("completed");
    expect(await runJob(archive, data)).toBe("completed");
    const job = await index.getJob(rangeId(range));
    expect(job?.attemptsMade).toBe(1); // not retried: a refusal is not an outage
    expect(workers.stats.poison).toBe(refused.length);

    // Profiles: everyone but the refused id, exactly.
    const profiles = await allDocuments<ProfileDocument>(pipeline.es, aliasName(pipeline.name, "profiles"));
    const want = referenceProfiles(accepted);
    expect(profiles.size).toBe(want.size);
    for (const [user, ref] of want) expect(profiles.get(user)?.total_spent, user).toBe(ref.total_spent);

    const dlq = [...(await dlqRecords(pipeline)).values()];
    expect(dlq.map((r) => r.source.offset).sort((a, b) => a - b)).toEqual(refused.map((r) => r.offset));
    for (const r of dlq) {
      expect(r).toMatchObject({ reason: "sink_refused", sink: "elasticsearch", stage: "process" });
      expect(r.detail).toContain(`${aliasName(pipeline.name, "profiles")} refused document`);
      expect(r.detail).toContain("must be no longer than 512 bytes");
    }
    // The monitor names it, with the reason.
    const clients = new Clients(pipeline.config, 5000);
    try {
      const outcome = await checkDlq({
        config: pipeline.config,
        options: monitorOptions(pipeline.config),
        state: {},
        signal: new AbortController().signal,
        clients,
      });
      expect(outcome.status).toBe("WARN");
      expect(outcome.reason).toContain(
        `the sinks sent ${refused.length} records to the DLQ in the last 15 min (${refused.length} sink_refused)`,
      );
      expect(outcome.reason).toContain("must be no longer than 512 bytes");
    } finally {
      await clients.close();
    }
  });

  it("a job that can never succeed fails at once, is counted, and the monitor and --until-idle name it with the reason", async () => {
    const range = { topic: pipeline.name, partition: 0, first: 1000, last: 1009 };
    const key = payloadKey(pipeline.name, range);
    // A payload that is not a payload (a bug, a foreign writer): no attempt can ever read it.
    await redis.set(key, Buffer.from("not a payload at all"));
    const index = queues[1] as Queue<RangeJobData>;
    const failedBefore = workers.stats.failed_jobs;
    expect(await runJob(index, { ...range, payloadKey: key, events: 10, dlq: 0 })).toBe("failed");
    const job = await index.getJob(rangeId(range));
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toContain("in no format capline writes");
    expect(workers.stats.failed_jobs).toBe(failedBefore + 1);

    const failed = await failedJobs(queues, started);
    expect(failed).toEqual([{ queue: INDEX_QUEUE, job: rangeId(range), reason: job?.failedReason }]);
    const clients = new Clients(pipeline.config, 5000);
    try {
      const outcome = await checkBullmq({
        config: pipeline.config,
        options: monitorOptions(pipeline.config),
        state: {},
        signal: new AbortController().signal,
        clients,
      });
      expect(outcome.status).toBe("WARN");
      expect(outcome.reason).toContain(`index has 1 failed job`);
      expect(outcome.reason).toContain(`${rangeId(range)}: ${job?.failedReason}`);
    } finally {
      await clients.close();
    }
  });
});

/**
 * A cluster-side fault no retry fixes (the profiles index closed under the pipeline): the jobs fail
 * instead of looping, `--until-idle` ends naming them, and once the index is open again the next
 * run retries them and finishes exactly.
 */
describe("jobs that fail for good, then run again once the cause is fixed", () => {
  const pipeline = new Pipeline({ hdfs: false });
  const events = generateEvents(2000, 33, 60, 2);

  beforeAll(async () => {
    await pipeline.setup();
    await produceEvents(pipeline.kafka, pipeline.name, 2, events);
  });
  afterAll(() => pipeline.cleanup());

  it("--until-idle exits 1 naming the failed job; after the fix the next run completes exactly", async () => {
    const profiles = concreteIndexName(pipeline.name, "profiles");
    await pipeline.es.indices.close({ index: profiles });
    const failed = await pipeline.run(["--until-idle", "--json", "--range-size", "400"], 180_000);
    expect(failed.code, failed.stderr).toBe(1);
    const said = JSON.parse(failed.stdout) as {
      ok: boolean;
      error: { message: string; failed_jobs: unknown[] };
    };
    expect(said.ok).toBe(false);
    expect(said.error.message).toContain("failed and cannot succeed as they are");
    expect(said.error.message).toContain("index_closed_exception");
    expect(said.error.failed_jobs.length).toBeGreaterThan(0);
    await pipeline.es.indices.open({ index: profiles, wait_for_active_shards: "all" });
    const again = await pipeline.run(["--until-idle", "--json"], 180_000);
    expect(again.code, again.stderr).toBe(0);
    await pipeline.verify(events);
  });
});
