import { errors } from "@elastic/elasticsearch";
import { UnrecoverableError } from "bullmq";
import { describe, expect, it } from "vitest";
import { CaplineError } from "../core/errors.ts";
import { describeRecentPoison, type RecentPoison } from "../monitoring/checks/pipeline.ts";
import { dlqKey, dlqValue, poisonOf } from "./dlq.ts";
import { WriteCache } from "./es-writer.ts";
import { planIndex, poisonOfRefusals } from "./index-sink.ts";
import type { RangeEvent } from "./lake.ts";
import { DecodedPayloads } from "./payload-cache.ts";
import { backoffMs, isRetryable, retry, sleep, toJobError } from "./retry.ts";
import { generateEvents } from "./test/events.ts";

/** The pure parts of the poison policy and of the retry module (docs/processing.md, "Poison records"). */

const range = { topic: "t", partition: 2, first: 100, last: 119 };
const rows: RangeEvent[] = generateEvents(20, 3, 4, 2).map((event, i) => ({ offset: 100 + i, event }));

function responseError(statusCode: number, type = "x"): errors.ResponseError {
  return new errors.ResponseError({
    body: { error: { type, reason: "r" } },
    statusCode,
    headers: {},
    warnings: null,
    meta: {} as never,
  });
}

describe("which failures pass with time", () => {
  it.each([
    ["a connection error", new errors.ConnectionError("refused"), true],
    ["a timeout", new errors.TimeoutError("slow"), true],
    ["429", responseError(429), true],
    ["503", responseError(503), true],
    ["an index block (disk flood stage)", responseError(403, "cluster_block_exception"), true],
    ["400", responseError(400), false],
    ["401", responseError(401, "security_exception"), false],
    ["404 (index missing)", responseError(404, "index_not_found_exception"), false],
    ["ECONNRESET", Object.assign(new Error("reset"), { code: "ECONNRESET" }), true],
    ["S3 SlowDown", Object.assign(new Error("slow"), { code: "SlowDown" }), true],
    ["S3 AccessDenied", Object.assign(new Error("no"), { code: "AccessDenied" }), false],
    ["a retryable CaplineError", new CaplineError("SERVICE_ERROR", "x", { retryable: true }), true],
    ["MinIO starting", Object.assign(new Error("starting"), { code: "XMinioServerNotInitialized" }), true],
    [
      "Kafka away (core/kafka)",
      new CaplineError("SERVICE_UNAVAILABLE", "Kafka is not reachable", { retryable: true }),
      true,
    ],
    [
      "a record Kafka will never take (core/kafka)",
      new CaplineError("SERVICE_ERROR", "MESSAGE_TOO_LARGE", { retryable: false }),
      false,
    ],
    ["a bug", new TypeError("undefined is not a function"), false],
  ])("%s: %s", (_what, error, expected) => {
    expect(isRetryable(error)).toBe(expected);
  });

  it("an error no retry fixes becomes an UnrecoverableError naming it; the others stay as they are", () => {
    const bug = new CaplineError(
      "SERVICE_ERROR",
      "Elasticsearch answered 404 for i/x: index_not_found_exception",
    );
    const job = toJobError(bug);
    expect(job).toBeInstanceOf(UnrecoverableError);
    expect(job.message).toContain("index_not_found_exception");
    expect(job.cause).toBe(bug);
    const outage = new errors.ConnectionError("refused");
    expect(toJobError(outage)).toBe(outage);
  });
});

describe("retry", () => {
  it("retries what can pass, at most `attempts` times, and throws the last error", async () => {
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error("reset"), { code: "ECONNRESET" });
      return "ok";
    };
    await expect(retry(flaky, { baseMs: 1 })).resolves.toBe("ok");
    expect(calls).toBe(3);
    calls = 0;
    const down = async () => {
      calls++;
      throw Object.assign(new Error("reset"), { code: "ECONNRESET" });
    };
    await expect(retry(down, { attempts: 4, baseMs: 1 })).rejects.toThrow("reset");
    expect(calls).toBe(4);
  });

  it("never retries what cannot pass", async () => {
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new TypeError("bug");
      }),
    ).rejects.toThrow("bug");
    expect(calls).toBe(1);
  });

  it("stops waiting at once when its signal is aborted", async () => {
    const controller = new AbortController();
    const started = performance.now();
    const run = retry(
      async () => {
        throw Object.assign(new Error("reset"), { code: "ECONNRESET" });
      },
      { attempts: 10, baseMs: 60_000, maxMs: 60_000, signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error("stopping")), 20);
    await expect(run).rejects.toThrow(/stopping|reset/);
    expect(performance.now() - started).toBeLessThan(5000);
    await expect(sleep(10, AbortSignal.abort(new Error("already")))).rejects.toThrow("already");
  });

  it("backs off with full jitter under a cap", () => {
    expect(backoffMs(0, 200, 5000, () => 1)).toBe(200);
    expect(backoffMs(3, 200, 5000, () => 1)).toBe(1600);
    expect(backoffMs(10, 200, 5000, () => 1)).toBe(5000);
    expect(backoffMs(10, 200, 5000, () => 0)).toBe(0);
    expect(backoffMs(2000, 200, 5000, () => 0.5)).toBe(2500);
  });
});

describe("poison records", () => {
  it("are keyed by the message's place, so a retried job's copies are one record", () => {
    const [first] = poisonOf(range, rows.slice(0, 1), "sink_refused", "elasticsearch", "too long");
    expect(first).toBeDefined();
    if (!first) return;
    expect(dlqKey(first)).toBe("t+2+100");
    const value = JSON.parse(dlqValue(first));
    expect(value).toMatchObject({
      source: { topic: "t", partition: 2, offset: 100 },
      reason: "sink_refused",
      detail: "too long",
      sink: "elasticsearch",
      stage: "process",
    });
    expect(JSON.parse(value.raw)).toEqual(rows[0]?.event);
  });

  it("name every event behind a refused document, once, in offset order", () => {
    const plan = planIndex(range, rows);
    const user = rows[5]?.event.user_id ?? "";
    const theirs = rows.filter((r) => r.event.user_id === user).map((r) => r.offset);
    const daily = plan.daily[0];
    expect(daily).toBeDefined();
    if (!daily) return;
    const poison = poisonOfRefusals(range, [
      [
        "p-profiles",
        plan.profiles,
        [{ id: user, status: 400, detail: "action_request_validation_exception: id is too long" }],
      ],
      ["p-sales-daily", plan.daily, [{ id: daily.id, status: 400, detail: "mapper_parsing_exception" }]],
      ["p-sales-hourly", plan.hourly, []],
    ]);
    const expected = [...new Set([...theirs, ...daily.rows.map((r) => r.offset)])].sort((a, b) => a - b);
    expect(poison.map((p) => p.offset)).toEqual(expected);
    expect(poison.find((p) => p.offset === theirs[0])?.detail).toContain("p-profiles refused document");
    expect(poison.every((p) => p.reason === "sink_refused" && p.partition === 2)).toBe(true);
    expect(poisonOfRefusals(range, [["p-profiles", plan.profiles, []]])).toEqual([]);
  });

  it("the monitor names the newest ones with their reason, only while they are recent", () => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    const record = (minutesAgo: number, reason: string): RecentPoison => ({
      at: new Date(now - minutesAgo * 60_000).toISOString(),
      topic: "t",
      partition: 1,
      offset: 7,
      reason,
      sink: "elasticsearch",
      detail: "capline-profiles refused document x: id is too long",
    });
    expect(
      describeRecentPoison(
        [record(1, "sink_refused"), record(2, "sink_refused"), record(3, "unencodable")],
        now,
      ),
    ).toBe(
      "the sinks sent 3 records to the DLQ in the last 15 min (2 sink_refused, 1 unencodable); newest: t+1+7, elasticsearch: capline-profiles refused document x: id is too long",
    );
    expect(describeRecentPoison([record(16, "sink_refused")], now)).toBeUndefined();
    expect(describeRecentPoison([], now)).toBeUndefined();
  });
});

describe("caches owned by their stage", () => {
  it("DecodedPayloads holds at most maxEvents, dropping the oldest ranges first", () => {
    const cache = new DecodedPayloads(30);
    const range = (n: number) => rows.slice(0, n);
    cache.remember("a", range(10));
    cache.remember("b", range(10));
    cache.remember("c", range(10));
    expect(cache.size).toBe(30);
    cache.remember("d", range(15));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("c")).toHaveLength(10);
    expect(cache.size).toBe(25);
    cache.remember(
      "huge",
      Array.from({ length: 31 }, (_, i) => rows[i % rows.length] as RangeEvent),
    );
    expect(cache.get("huge")).toBeUndefined();
    cache.forget("c");
    expect(cache.size).toBe(15);
    // Two caches share nothing.
    expect(new DecodedPayloads(30).get("d")).toBeUndefined();
  });

  it("DecodedPayloads drops a range once each of its readers has read it", () => {
    const cache = new DecodedPayloads(100, 2);
    const ten = rows.slice(0, 10);
    // Stored by the dispatcher: both jobs to come.
    cache.remember("stored", ten);
    expect(cache.get("stored")).toHaveLength(10);
    expect(cache.size).toBe(10);
    expect(cache.get("stored")).toHaveLength(10);
    expect(cache.get("stored")).toBeUndefined();
    expect(cache.size).toBe(0);
    // Decoded by one job: only the other sink's job reads it here.
    cache.remember("decoded", ten, 1);
    expect(cache.get("decoded")).toHaveLength(10);
    expect(cache.get("decoded")).toBeUndefined();
    // A reader that is the last one keeps nothing.
    cache.remember("done", ten, 2);
    expect(cache.get("done")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("WriteCache keeps at most perIndexBytes of documents per index, each index apart", () => {
    // Each entry costs its JSON's bytes, its id and 64 bytes: three entries of 100 + 1 + 64 fit in 600.
    const cache = new WriteCache(600);
    const entry = (n: number) => ({
      json: JSON.stringify({ pad: "x".repeat(92), n }).slice(0, 100),
      seqNo: n,
      primaryTerm: 1,
    });
    expect(entry(1).json).toHaveLength(100);
    cache.remember("i", "a", entry(1));
    cache.remember("i", "b", entry(2));
    cache.remember("i", "c", entry(3));
    cache.remember("j", "a", entry(4));
    expect(cache.size).toBe(4);
    expect(cache.bytes).toBe(4 * 165);
    // Writing a held document again replaces it without counting it twice.
    cache.remember("i", "b", entry(5));
    expect(cache.get("i", "b")?.seqNo).toBe(5);
    expect(cache.bytes).toBe(4 * 165);
    // A fourth document of "i" does not fit: the index's map starts again, "j" keeps its own.
    cache.remember("i", "d", entry(6));
    expect(cache.ids("i")).toEqual(["d"]);
    expect(cache.get("j", "a")?.seqNo).toBe(4);
    cache.forget("j", "a");
    cache.forget("j", "never held");
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(165);
  });

  it("WriteCache gives back the last JSON written for every id, across its arena's growth and compaction", () => {
    // 4 MiB: a first arena of 1 MiB, then one of the budget; held documents moved over replaced ones.
    const cache = new WriteCache(4 << 20);
    const last = new Map<string, string>();
    const seqs = new Map<string, number>();
    for (let round = 0; round < 12; round++) {
      // Every round writes the ids again in another order, some of them not at all.
      for (let k = 0; k < 3000; k++) {
        const n = (k * 7 + round * 131) % 3000;
        if (round > 0 && n % 5 === round % 5) continue;
        const id = `doc-${n}`;
        // Multi-byte text and lengths that change: bytes, not characters, are what the arena holds.
        const json = JSON.stringify({
          n,
          round,
          brand: n % 7 === 0 ? "ёлка-€" : "apple",
          pad: "x".repeat((n * round) % 397),
        });
        cache.remember("i", id, { json, seqNo: round * 10_000 + n, primaryTerm: 2 });
        last.set(id, json);
        seqs.set(id, round);
      }
      for (const [id, json] of last) {
        const held = cache.get("i", id);
        expect(held?.json, `${id} after round ${round}`).toBe(json);
        expect(held?.seqNo).toBe((seqs.get(id) ?? -1) * 10_000 + Number(id.slice(4)));
        expect(held?.primaryTerm).toBe(2);
      }
    }
    expect(cache.size).toBe(3000);
    // A document larger than the whole budget is not kept, and does not leave an older copy behind.
    cache.remember("i", "doc-1", { json: "y".repeat(5 << 20), seqNo: 1, primaryTerm: 1 });
    expect(cache.get("i", "doc-1")).toBeUndefined();
    expect(cache.size).toBe(2999);
  });
});
