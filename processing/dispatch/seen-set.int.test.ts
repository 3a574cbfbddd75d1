import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "../../core/clients/redis.ts";
import { loadConfig } from "../../core/config/index.ts";
import {
  cutsKey,
  seenSetBucketKey,
  seenSetMetaKey,
  seenSetPattern,
  seenSetPrefix,
} from "../../core/names.ts";
import type { CaplineEvent } from "../../core/schema/events.ts";
import { deleteQueueKeys, queueKeys } from "../../setup/redis.ts";
import type { RangeEvent } from "../lake.ts";
import { rng } from "../test/events.ts";
import { CutRegistry } from "./cut-registry.ts";
import { eventDay, SeenSet } from "./seen-set.ts";

/** The cut registry and the seen-set against the stack's real Redis, each test under its own prefix. */

const config = loadConfig();
let redis: Redis;
const prefixes: string[] = [];
const fresh = () => {
  const p = `seen-test-${randomUUID().slice(0, 8)}`;
  prefixes.push(p);
  return p;
};

beforeAll(() => {
  redis = createRedis(config);
});
afterAll(async () => {
  for (const p of prefixes) await deleteQueueKeys(redis, p);
  redis.disconnect();
});

/** A range's events, its first offset being its first event's. */
const markRange = (seen: SeenSet, partition: number, rows: readonly RangeEvent[]) =>
  seen.mark(partition, rows[0]?.offset ?? 0, rows);

function hexId(rand: () => number): string {
  let s = "";
  for (let i = 0; i < 32; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

function row(offset: number, id: string, day = "2019-10-01"): RangeEvent {
  const event: CaplineEvent = {
    event_id: id,
    event_time: `${day}T12:00:00.000Z`,
    event_type: "view",
    product_id: "1",
    category_id: "2",
    category_code: null,
    brand: null,
    price: 1,
    user_id: "u",
    user_session: "s",
    source: { file: "f.csv", line: offset + 2 },
  };
  return { offset, event };
}

describe("CutRegistry (real Redis)", () => {
  it("registers cuts, refuses overlapping ones, accepts the same cut again, loads and forgets", async () => {
    const prefix = fresh();
    const registry = new CutRegistry(redis, prefix, "events");
    expect(await registry.register(0, 0, 99)).toBe(true);
    expect(await registry.register(0, 0, 99)).toBe(true); // the same cut: a replay re-registering it
    expect(await registry.register(0, 50, 149)).toBe(false);
    expect(await registry.register(0, 99, 99)).toBe(false);
    expect(await registry.register(0, 100, 199)).toBe(true);
    expect(await registry.register(1, 50, 149)).toBe(true); // another partition
    expect(await registry.load(0, undefined)).toEqual([
      [0, 99],
      [100, 199],
    ]);
    // Cuts wholly before the committed offset are stale: dropped from the registry as it loads.
    expect(await registry.load(0, 100)).toEqual([[100, 199]]);
    expect(await redis.hgetall(cutsKey(prefix, "events", 0))).toEqual({ "100": "199" });
    await registry.forget(0, [100]);
    expect(await registry.load(0, undefined)).toEqual([]);
    expect(await registry.load(1, 0)).toEqual([[50, 149]]);
  });

  it("finds its Lua after Redis forgot its scripts (SCRIPT FLUSH)", async () => {
    const registry = new CutRegistry(redis, fresh(), "events");
    expect(await registry.register(0, 0, 9)).toBe(true);
    await redis.script("FLUSH");
    expect(await registry.register(0, 5, 19)).toBe(false);
    expect(await registry.register(0, 10, 19)).toBe(true);
  });
});

describe("SeenSet (real Redis)", () => {
  it("keeps first occurrences, drops later ones, and decides the same on a redelivery or a replay cut differently", async () => {
    const prefix = fresh();
    const seen = new SeenSet(redis, prefix, "events");
    const a = hexId(rng(1));
    const b = hexId(rng(2));
    const c = "not-a-capline-id: any string works";
    // Range 1: a, b, a again (a duplicate inside one range), c.
    const range1 = [row(0, a), row(1, b), row(2, a), row(3, c)];
    const first = await markRange(seen, 0, range1);
    expect(first.fresh.map((r) => r.offset)).toEqual([0, 1, 3]);
    expect(first.duplicates).toBe(1);
    expect(first.startedAt).toBe(0);
    // Range 2: b and c again (other files, stdin, --force), and a new id.
    const d = hexId(rng(3));
    const range2 = [row(4, b), row(5, d), row(6, c)];
    const second = await markRange(seen, 0, range2);
    expect(second.fresh.map((r) => r.offset)).toEqual([5]);
    expect(second.duplicates).toBe(2);
    expect(second.startedAt).toBeUndefined();
    // A redelivery of range 1, then a replay cut at other boundaries: the same decisions.
    expect((await markRange(seen, 0, range1)).fresh.map((r) => r.offset)).toEqual([0, 1, 3]);
    const recut = await markRange(seen, 0, [...range1.slice(2), ...range2]);
    expect(recut.fresh.map((r) => r.offset)).toEqual([3, 5]);
    expect(recut.duplicates).toBe(3);
    // The same ids in another partition are another seen-set.
    expect((await markRange(seen, 1, range2)).duplicates).toBe(0);
  });

  it("an event's day is part of its identity: the same id on another day is another event", async () => {
    const seen = new SeenSet(redis, fresh(), "events");
    const id = hexId(rng(9));
    const out = await markRange(seen, 0, [
      row(0, id, "2019-10-01"),
      row(1, id, "2019-10-02"),
      row(2, id, "2019-10-01"),
    ]);
    expect(out.fresh.map((r) => r.offset)).toEqual([0, 1]);
  });

  it("grows by linear hashing: 60,000 ids of one day in listpack buckets, every one recognised afterwards", async () => {
    const prefix = fresh();
    const seen = new SeenSet(redis, prefix, "events", { chunk: 7000 });
    const rand = rng(42);
    const rows = Array.from({ length: 60_000 }, (_, i) => row(i, hexId(rand)));
    const first = await markRange(seen, 0, rows);
    expect(first.duplicates).toBe(0);
    const meta = await redis.hgetall(seenSetMetaKey(seenSetPrefix(prefix, "events", 0)));
    const day = eventDay("2019-10-01T12:00:00.000Z");
    const [n, level, split] = (meta[`d${day}`] ?? "").split(" ").map(Number);
    expect(n).toBe(60_000);
    const buckets = 2 ** (level ?? 0) + (split ?? 0);
    expect(buckets).toBeGreaterThanOrEqual(60_000 / 40);
    expect(buckets).toBeLessThan((60_000 / 40) * 1.05);
    const keys = (await queueKeys(redis, prefix)).filter((k) => !k.endsWith(":meta"));
    // The Lua script names its buckets as core/names.ts does.
    const named = Array.from({ length: buckets }, (_, b) =>
      seenSetBucketKey(seenSetPrefix(prefix, "events", 0), day, b),
    );
    expect(keys.sort()).toEqual(named.sort());
    let fields = 0;
    for (const key of keys) {
      expect(await redis.object("ENCODING", key)).toBe("listpack");
      fields += await redis.hlen(key);
    }
    expect(fields).toBe(60_000);
    // Redelivered: all fresh again (same offsets); at other offsets: all duplicates.
    expect((await markRange(seen, 0, rows)).duplicates).toBe(0);
    const later = rows.map((r) => ({ offset: r.offset + 100_000, event: r.event }));
    expect((await markRange(seen, 0, later)).duplicates).toBe(60_000);
  });

  it("with a horizon, drops days older than the newest minus the horizon and lets their events through", async () => {
    const prefix = fresh();
    const seen = new SeenSet(redis, prefix, "events", { horizonDays: 2 });
    const rand = rng(5);
    const old = Array.from({ length: 300 }, (_, i) => row(i, hexId(rand), "2019-10-01"));
    expect((await markRange(seen, 0, old)).duplicates).toBe(0);
    const days = async () =>
      Object.keys(await redis.hgetall(seenSetMetaKey(seenSetPrefix(prefix, "events", 0)))).filter((f) =>
        f.startsWith("d"),
      );
    expect(await days()).toHaveLength(1);
    // Events of Oct 2: Oct 1 is still within two days of the newest.
    expect((await markRange(seen, 0, [row(1000, hexId(rand), "2019-10-02")])).beyondHorizon).toBe(0);
    expect(
      (await markRange(seen, 0, [row(1001, old[0]?.event.event_id ?? "", "2019-10-01")])).duplicates,
    ).toBe(1);
    // Oct 3 arrives: Oct 1 leaves the horizon, its buckets are deleted.
    const bucketsBefore = (await redis.keys(seenSetPattern(prefix, "events"))).length;
    await markRange(seen, 0, [row(1002, hexId(rand), "2019-10-03")]);
    expect(await days()).toHaveLength(2);
    expect((await redis.keys(seenSetPattern(prefix, "events"))).length).toBeLessThan(bucketsBefore);
    const late = await markRange(seen, 0, [row(1003, old[1]?.event.event_id ?? "", "2019-10-01")]);
    expect(late).toMatchObject({ duplicates: 0, beyondHorizon: 1 });
    expect(late.fresh).toHaveLength(1);
  });

  it("says when the seen-set starts past the beginning (Redis lost it, or an older installation)", async () => {
    const prefix = fresh();
    const seen = new SeenSet(redis, prefix, "events");
    const id = hexId(rng(11));
    expect((await markRange(seen, 0, [row(500, id)])).startedAt).toBe(500);
    expect((await markRange(seen, 0, [row(501, id)])).startedAt).toBeUndefined();
    await deleteQueueKeys(redis, prefix); // Redis lost its data
    const after = await markRange(seen, 0, [row(700, id)]);
    expect(after).toMatchObject({ startedAt: 700, duplicates: 0 });
    // A partition whose first range held no event (only DLQ messages) starts at that range.
    const other = new SeenSet(redis, fresh(), "events");
    expect((await other.mark(0, 0, [])).startedAt).toBe(0);
    expect((await other.mark(0, 3, [row(3, id)])).startedAt).toBeUndefined();
  });

  it("costs under 32 bytes of Redis memory per event (printed)", async () => {
    const prefix = fresh();
    const seen = new SeenSet(redis, prefix, "events");
    const rand = rng(77);
    const events = 100_000;
    const rows = Array.from({ length: events }, (_, i) =>
      row(i * 3, hexId(rand), `2019-10-${String(1 + (i % 20)).padStart(2, "0")}`),
    );
    for (let i = 0; i < rows.length; i += 20_000) await markRange(seen, 0, rows.slice(i, i + 20_000));
    let bytes = 0;
    for (const key of await queueKeys(redis, prefix)) bytes += Number(await redis.memory("USAGE", key));
    const perEvent = bytes / events;
    console.log(
      `seen-set: ${events} events over 20 days: ${(bytes / 1024 / 1024).toFixed(2)} MiB, ` +
        `${perEvent.toFixed(1)} B/event (speed: npm run bench:seen-set)`,
    );
    expect(perEvent).toBeLessThan(32);
  });
});
