import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "../../core/clients/redis.ts";
import { logger } from "../../core/logging.ts";
import { cutsPattern, tombstonesKey, tombstonesVersionKey } from "../../core/names.ts";
import type { CaplineEvent } from "../../core/schema/events.ts";
import { kafkaDlqWriter } from "../dlq.ts";
import { forgetHash } from "../forget/tombstones.ts";
import { DecodedPayloads } from "../payload-cache.ts";
import { sleep } from "../retry.ts";
import { lakeStores } from "../run.ts";
import { generateEvents, rng } from "../test/events.ts";
import { Pipeline } from "../test/harness.ts";
import { Workers } from "../worker.ts";
import type { DlqRecord } from "./classify.ts";
import type { ConsumedBatch, ConsumerHandlers, DispatchConsumer, DlqProducer } from "./consumer.ts";
import { Dispatcher } from "./dispatcher.ts";

/**
 * The thin dispatcher's wiring, end to end through the real Redis, BullMQ, workers, Elasticsearch
 * and MinIO of the stack. Said plainly: the consumer here is NOT Kafka. It is a scripted feed of
 * messages through the `DispatchConsumer` interface (an in-memory log per partition, delivered in
 * random batch sizes with redeliveries, honouring pause, seek and commit as the interface's
 * contract says). That drives the dispatcher's pure core and every real part behind it; Kafka's own
 * behaviour (rebalances, transactions, kill -9 of real processes) is proven by the fault tests of
 * processing/ once the lead wires this dispatcher to core/kafka/.
 *
 * What it proves: the same events arriving again by any path (a copy of the file under another
 * name, the same file again, half of it through stdin) count once in the profiles, the daily and
 * hourly aggregates and the lake, and are counted as duplicates; the same holds after a
 * dispatcher "crash" (its consumer stops dead: nothing more is delivered or committed) and a new
 * dispatcher taking over, and after a full replay from offset 0 cut at other boundaries.
 */

const PARTITIONS = 3;

interface LogMessage {
  offset: number;
  value: Buffer | null;
}

/** An in-memory log per partition behind the DispatchConsumer interface (see the note above). */
class ScriptedConsumer implements DispatchConsumer {
  readonly topic: string;
  readonly commits = new Map<number, number>();
  /** pause() and resume() calls, for the test to see backpressure at work. */
  readonly calls = { pause: 0, resume: 0 };
  private readonly paused = new Set<number>();
  private readonly position = new Map<number, number>();
  private running = false;
  private dead = false;
  private loop: Promise<void> | undefined;

  constructor(
    topic: string,
    private readonly log: Map<number, LogMessage[]>,
    private readonly rand: () => number,
    committed: Map<number, number> = new Map(),
  ) {
    this.topic = topic;
    for (const [p, o] of committed) this.commits.set(p, o);
  }

  async start(handlers: ConsumerHandlers): Promise<void> {
    this.running = true;
    const partitions = [...this.log.keys()];
    await handlers.assigned(partitions);
    for (const p of partitions) this.position.set(p, this.commits.get(p) ?? 0);
    this.loop = (async () => {
      while (this.running && !this.dead) {
        let delivered = false;
        for (const p of partitions) {
          if (this.paused.has(p) || !this.running) continue;
          const messages = this.log.get(p) ?? [];
          const from = this.position.get(p) ?? 0;
          const end = (messages[messages.length - 1]?.offset ?? -1) + 1;
          if (from >= end) continue;
          const n = 1 + Math.floor(this.rand() * 400);
          // Sometimes a batch starts a little before the position (a redelivery).
          const back = this.rand() < 0.1 ? Math.floor(this.rand() * 20) : 0;
          const batchMessages = messages.filter(
            (m) => m.offset >= Math.max(0, from - back) && m.offset < from + n,
          );
          const next = Math.min(end, from + n);
          const batch: ConsumedBatch = {
            partition: p,
            from,
            messages: batchMessages,
            next,
            caughtUp: next >= end,
          };
          this.position.set(p, next);
          await handlers.batch(batch);
          delivered = true;
        }
        if (!delivered) await sleep(20);
      }
    })();
  }

  /** Stops dead, as a killed process: no more batches, no more commits. */
  kill(): void {
    this.dead = true;
  }

  async committed(partition: number): Promise<number | undefined> {
    return this.commits.get(partition);
  }

  async commit(partition: number, offset: number): Promise<void> {
    if (this.dead) throw new Error("the consumer is gone");
    this.commits.set(partition, offset);
  }

  pause(partition: number): void {
    this.calls.pause++;
    this.paused.add(partition);
  }

  resume(partition: number): void {
    this.calls.resume++;
    this.paused.delete(partition);
  }

  seek(partition: number, offset: number): void {
    this.position.set(partition, offset);
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Every partition committed to its end. */
  drained(): boolean {
    return [...this.log].every(([p, m]) => (this.commits.get(p) ?? 0) >= (m[m.length - 1]?.offset ?? -1) + 1);
  }
}

class CollectingDlq implements DlqProducer {
  readonly records: DlqRecord[] = [];
  async send(records: readonly DlqRecord[]): Promise<void> {
    this.records.push(...records);
  }
}

function partitionOf(userId: string): number {
  let h = 0;
  for (const c of userId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % PARTITIONS;
}

/** The topic's log: every event, then a copy under another file name, the first half again (stdin), and the file once more (--force). */
function buildLog(events: readonly CaplineEvent[]): Map<number, LogMessage[]> {
  const log = new Map<number, LogMessage[]>(Array.from({ length: PARTITIONS }, (_, p) => [p, []]));
  const append = (e: CaplineEvent | string, p: number) => {
    const list = log.get(p) ?? [];
    // Offsets skip now and then, as transaction markers do.
    const last = list[list.length - 1]?.offset ?? -1;
    const offset = last + 1 + (list.length % 97 === 96 ? 1 : 0);
    list.push({ offset, value: Buffer.from(typeof e === "string" ? e : JSON.stringify(e)) });
  };
  events.forEach((e, i) => {
    append(e, partitionOf(e.user_id));
    if (i === 10) append("not json", 1);
  });
  for (const e of events)
    append({ ...e, source: { file: "copy-of-export.csv", line: e.source.line } }, partitionOf(e.user_id));
  for (const e of events.slice(0, events.length / 2))
    append({ ...e, source: { file: "-", line: e.source.line } }, partitionOf(e.user_id));
  for (const e of events) append(e, partitionOf(e.user_id));
  return log;
}

describe("Dispatcher (scripted consumer, real Redis/BullMQ/workers/Elasticsearch/MinIO)", () => {
  const pipeline = new Pipeline({ hdfs: false });
  const events = generateEvents(4000, 131, 150, 5);
  const log = buildLog(events);
  let redis: Redis;
  let workers: Workers;
  const cache = new DecodedPayloads();

  /** The workers, started anew after a pause in the test that needs backpressure for certain. */
  function startWorkers(): Workers {
    const started = new Workers(
      pipeline.es,
      redis,
      {
        queuePrefix: pipeline.name,
        connection: { url: pipeline.config.redis.url, maxRetriesPerRequest: null },
        concurrency: 2,
        indexPrefix: pipeline.name,
        stores: lakeStores(pipeline.config),
        dlq: kafkaDlqWriter(pipeline.config),
        lockDurationMs: 5000,
      },
      logger("worker"),
    );
    started.start();
    return started;
  }

  beforeAll(async () => {
    await pipeline.setup();
    redis = createRedis(pipeline.config);
    workers = startWorkers();
  });
  afterAll(async () => {
    await workers.stop(2000);
    redis.disconnect();
    await pipeline.cleanup();
  });

  const dispatcher = (consumer: ScriptedConsumer, dlq: DlqProducer, rangeSize: number) =>
    new Dispatcher(
      consumer,
      dlq,
      redis,
      {
        queuePrefix: pipeline.name,
        rangeSize,
        maxInFlight: 3,
        lingerMs: 100,
        gateway: { connection: { url: pipeline.config.redis.url, maxRetriesPerRequest: null } },
        payloadCache: cache,
      },
      logger("dispatcher"),
    );

  async function runToEnd(d: Dispatcher, consumer: ScriptedConsumer): Promise<void> {
    let fatal: Error | undefined;
    await d.start((e) => {
      fatal = e;
    });
    const deadline = Date.now() + 150_000;
    while (!consumer.drained()) {
      if (fatal) throw fatal;
      if (Date.now() > deadline) throw new Error(`not drained: ${JSON.stringify(d.snapshot())}`);
      await sleep(100);
    }
    await d.stop(3000);
  }

  it("a copy, the same file again and half of it through stdin count once; a crash and a takeover change nothing", async () => {
    const rand = rng(7);
    const dlq = new CollectingDlq();
    // Dispatcher 1 dies part-way: its consumer stops dead once some ranges are committed.
    const first = new ScriptedConsumer(pipeline.name, log, rand);
    const d1 = dispatcher(first, dlq, 250);
    await d1.start(() => undefined);
    const deadline = Date.now() + 120_000;
    while ([...first.commits.values()].reduce((a, b) => a + b, 0) < 3000) {
      if (Date.now() > deadline) throw new Error("dispatcher 1 committed nothing");
      await sleep(50);
    }
    first.kill();
    await d1.stop(500);
    const partial = { ...d1.stats };
    expect(partial.duplicates + partial.events).toBeGreaterThan(0);
    // Dispatcher 2 takes over from the committed offsets with the cut registry as dispatcher 1 left it.
    const second = new ScriptedConsumer(pipeline.name, log, rand, first.commits);
    const d2 = dispatcher(second, dlq, 400);
    // No worker runs until dispatcher 2 has met its in-flight limit: backpressure is then certain,
    // however fast the workers are.
    await workers.stop(2000);
    const resumed = (async () => {
      const until = Date.now() + 60_000;
      while (second.calls.pause === 0 && Date.now() < until) await sleep(20);
      workers = startWorkers();
    })();
    await runToEnd(d2, second);
    await resumed;
    // Every path's repeats were left out: 4000 events, 1.5 × 4000 duplicates over both dispatchers,
    // the ranges dispatcher 2 replayed counted again by it (their decisions are the same).
    expect(
      d2.stats.events + d2.stats.duplicates + partial.events + partial.duplicates,
    ).toBeGreaterThanOrEqual(4000 + 6000);
    await pipeline.verify(events);
    // Backpressure went through the interface: partitions were paused at 3 ranges in flight, and resumed.
    expect(second.calls.pause).toBeGreaterThan(0);
    expect(second.calls.resume).toBeGreaterThan(0);
    expect(new Set(dlq.records.map((r) => r.key)).size).toBe(1);
    expect(await redis.keys(cutsPattern(pipeline.name, pipeline.name))).toHaveLength(0);
  });

  it("a full replay from offset 0 with no cut registry and other boundaries: the same duplicates, nothing changes", async () => {
    for (const key of await redis.keys(cutsPattern(pipeline.name, pipeline.name))) await redis.del(key);
    const consumer = new ScriptedConsumer(pipeline.name, log, rng(99));
    const d = dispatcher(consumer, new CollectingDlq(), 777);
    await runToEnd(d, consumer);
    expect(d.stats).toMatchObject({ events: 4000, duplicates: 10_000, dlq: 1, failed_jobs: 0 });
    await pipeline.verify(events);
  });

  it("customers on the forget list never reach a payload (the workers check again)", async () => {
    for (const key of await redis.keys(cutsPattern(pipeline.name, pipeline.name))) await redis.del(key);
    const gone = [...new Set(events.map((e) => e.user_id))].slice(0, 2);
    // As capline forget commits them: hashes scored by expiry, and the version moved.
    await redis.zadd(
      tombstonesKey(pipeline.name),
      "+inf",
      forgetHash(gone[0] ?? ""),
      "+inf",
      forgetHash(gone[1] ?? ""),
    );
    await redis.incr(tombstonesVersionKey(pipeline.name));
    try {
      const consumer = new ScriptedConsumer(pipeline.name, log, rng(5));
      const d = dispatcher(consumer, new CollectingDlq(), 500);
      await runToEnd(d, consumer);
      const theirs = events.filter((e) => gone.includes(e.user_id)).length;
      expect(theirs).toBeGreaterThan(0);
      expect(d.stats).toMatchObject({ events: 4000 - theirs, forgotten: theirs, duplicates: 10_000 });
    } finally {
      await redis.del(tombstonesKey(pipeline.name), tombstonesVersionKey(pipeline.name));
    }
  });
});
