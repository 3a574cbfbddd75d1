import { describe, expect, it } from "vitest";
import { UsageError } from "../core/errors.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import { type CompactStore, mergeLakeFiles } from "../processing/compact.ts";
import { lakeFiles } from "../processing/lake.ts";
import { LakeReader } from "../processing/lake-reader.ts";
import { encodeParquet } from "../processing/parquet.ts";
import { generateEvents } from "../processing/test/events.ts";
import { PROSPECT, referenceRfm } from "../processing/test/rfm.ts";
import { asOfCustomers, parseAsOf } from "./as-of.ts";
import { parseParams } from "./options.ts";
import { NoDataError } from "./source.ts";

const TOPIC = "events-t";
const DAY = 86_400_000;

/** A lake store in memory: real Parquet files under real lake keys (what MinIO would hold). */
function memoryStore(files: Map<string, Buffer>): CompactStore {
  const dayOf = (key: string) => /dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1] ?? "";
  return {
    name: "minio",
    days: async () => [...new Set([...files.keys()].map(dayOf))].sort(),
    list: async (dt) =>
      [...files].filter(([k]) => dayOf(k) === dt).map(([key, b]) => ({ key, size: b.length })),
    get: async (key) => {
      const bytes = files.get(key);
      if (!bytes) throw Object.assign(new Error("gone"), { code: "NoSuchKey" });
      return bytes;
    },
    put: async (key, bytes) => {
      files.set(key, bytes);
    },
    remove: async (keys) => {
      for (const k of keys) files.delete(k);
    },
  };
}

/** The events as archived: 3 partitions, ranges of 150 offsets, one file per range and day. */
async function lakeOf(events: readonly CaplineEvent[]): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (let p = 0; p < 3; p++) {
    const mine = events.filter((_, i) => i % 3 === p).map((event, offset) => ({ offset, event }));
    for (let i = 0; i < mine.length; i += 150)
      for (const f of lakeFiles(TOPIC, p, mine.slice(i, i + 150)))
        files.set(f.key, await encodeParquet(p, f.events));
  }
  return files;
}

/** The tests' own figures as of the end of `date`, from the events only. */
function expected(events: readonly CaplineEvent[], date: string) {
  const end = Date.parse(`${date}T00:00:00Z`) + DAY;
  const rows = events.filter((e) => Date.parse(e.event_time) < end);
  const newest = Math.max(...rows.map((e) => Date.parse(e.event_time)));
  const users = [...new Set(rows.map((e) => e.user_id))].sort();
  const buyers = users.flatMap((user) => {
    const bought = rows.filter((e) => e.user_id === user && e.event_type === "purchase");
    if (bought.length === 0) return [];
    return [
      {
        user,
        lastPurchaseMs: Math.max(...bought.map((e) => Date.parse(e.event_time))),
        purchases: bought.length,
        cents: bought.reduce((s, e) => s + Math.round(e.price * 100), 0),
      },
    ];
  });
  const rfm = referenceRfm(buyers, newest);
  return users.map((user) => {
    const b = buyers.find((x) => x.user === user);
    const s = rfm.get(user);
    return {
      user_id: user,
      segment: s?.segment ?? PROSPECT,
      r: s?.r ?? null,
      f: s?.f ?? null,
      m: s?.m ?? null,
      recency_days: s?.recency_days ?? null,
      purchases: b?.purchases ?? 0,
      total_spent: (b?.cents ?? 0) / 100,
    };
  });
}

const pick = (rows: Array<Record<string, unknown>>) =>
  rows.map(({ user_id, segment, r, f, m, recency_days, purchases, total_spent }) => ({
    user_id,
    segment,
    r,
    f,
    m,
    recency_days,
    purchases,
    total_spent,
  }));

describe("parseAsOf", () => {
  it("takes a calendar date and means the end of that UTC day", () => {
    expect(parseAsOf("2019-10-15")).toEqual({
      date: "2019-10-15",
      endMs: Date.parse("2019-10-16T00:00:00Z"),
    });
    expect(parseAsOf(" 2020-02-29 ").date).toBe("2020-02-29");
  });

  it.each([
    "2019-02-29",
    "2019-13-01",
    "2019-10-32",
    "2019-1-5",
    "15.10.2019",
    "2019-10-15T00:00Z",
    "",
    "1571097600000",
  ])("refuses %j with the flag and the form expected", (raw) => {
    expect(() => parseAsOf(raw)).toThrow(UsageError);
    expect(() => parseAsOf(raw)).toThrow(/^--as-of: ".*" is not a date; expected YYYY-MM-DD/);
  });
});

describe("asOfCustomers over a lake", () => {
  const events = generateEvents(4000, 11, 120, 10);
  const params = parseParams({});

  it("equals the independent computation for every day of the data, each event once", async () => {
    const reader = new LakeReader(memoryStore(await lakeOf(events)), TOPIC, "memory");
    const days = await reader.days();
    expect(days.length).toBe(10);
    for (const date of [days[0], days[4], days[9]] as string[]) {
      const got = await asOfCustomers(reader, parseAsOf(date), params, {});
      expect(pick(got.rows), date).toEqual(expected(events, date));
    }
  });

  it("reads a day once while a compaction has published its merged file but not deleted the inputs", async () => {
    const files = await lakeOf(events);
    const store = memoryStore(files);
    const reader = new LakeReader(store, TOPIC, "memory");
    const day = (await reader.days())[3] as string;
    const before = await asOfCustomers(reader, parseAsOf(day), params, {});
    // Merge partition 1's files of that day into one covering file; keep the inputs (step 2 of 3).
    const inputs = (await reader.files(day)).filter((k) => k.includes(`${TOPIC}+1+`));
    expect(inputs.length).toBeGreaterThan(1);
    const bytes = await mergeLakeFiles(
      1,
      inputs.map((k) => files.get(k) as Buffer),
    );
    const offsets = inputs.map((k) => /\+(\d+)-(\d+)\.parquet$/.exec(k)?.slice(1).map(Number) ?? []);
    const first = Math.min(...offsets.map((o) => o[0] ?? 0));
    const last = Math.max(...offsets.map((o) => o[1] ?? 0));
    files.set(`events/dt=${day}/${TOPIC}+1+${first}-${last}.parquet`, bytes);
    expect((await reader.files(day)).some((k) => inputs.includes(k))).toBe(false);
    const during = await asOfCustomers(reader, parseAsOf(day), params, {});
    expect(during.rows).toEqual(before.rows);
    expect(during.lakeRows).toBe(before.lakeRows);
  });

  it("ignores another topic's files in the same bucket", async () => {
    const files = await lakeOf(events);
    const other = await lakeOf(generateEvents(500, 99, 30, 10));
    for (const [k, b] of other) files.set(k.replace(`${TOPIC}+`, "other-topic+"), b);
    const reader = new LakeReader(memoryStore(files), TOPIC, "memory");
    const day = (await reader.days())[5] as string;
    expect(pick((await asOfCustomers(reader, parseAsOf(day), params, {})).rows)).toEqual(
      expected(events, day),
    );
  });

  it("filters on the figures as of the date", async () => {
    const reader = new LakeReader(memoryStore(await lakeOf(events)), TOPIC, "memory");
    const day = (await reader.days())[4] as string;
    const all = expected(events, day);
    const seg = await asOfCustomers(reader, parseAsOf(day), params, { segment: "Champions" });
    expect(seg.rows.map((r) => r.user_id)).toEqual(
      all.filter((c) => c.segment === "Champions").map((c) => c.user_id),
    );
    const rich = await asOfCustomers(reader, parseAsOf(day), params, { minSpend: 5000 });
    expect(rich.rows.map((r) => r.user_id)).toEqual(
      all.filter((c) => c.total_spent >= 5000).map((c) => c.user_id),
    );
    const end = Date.parse(`${day}T00:00:00Z`) + DAY;
    const apple = new Set(
      events
        .filter((e) => e.event_type === "purchase" && e.brand === "apple" && Date.parse(e.event_time) < end)
        .map((e) => e.user_id),
    );
    const brand = await asOfCustomers(reader, parseAsOf(day), parseParams({ brand: "apple" }), {});
    expect(brand.rows.map((r) => r.user_id)).toEqual([...apple].sort());
    const unknown = new Set(
      events
        .filter(
          (e) => e.event_type === "purchase" && e.category_code === null && Date.parse(e.event_time) < end,
        )
        .map((e) => e.user_id),
    );
    const none = await asOfCustomers(reader, parseAsOf(day), parseParams({ category: "unknown" }), {});
    expect(none.rows.map((r) => r.user_id)).toEqual([...unknown].sort());
    expect(unknown.size).toBeGreaterThan(0);
  });

  it("refuses a date outside the data, and says when the lake is empty", async () => {
    const reader = new LakeReader(memoryStore(await lakeOf(events)), TOPIC, "memory");
    const days = await reader.days();
    const before = new Date(Date.parse(`${days[0]}T00:00:00Z`) - DAY).toISOString().slice(0, 10);
    await expect(asOfCustomers(reader, parseAsOf(before), params, {})).rejects.toThrow(
      new RegExp(`^--as-of ${before}: outside the data, which covers ${days[0]} to ${days[9]}`),
    );
    const empty = new LakeReader(memoryStore(new Map()), TOPIC, "memory");
    await expect(asOfCustomers(empty, parseAsOf("2019-10-01"), params, {})).rejects.toThrow(NoDataError);
  });

  it("says a file that disappeared while read (a compaction finished) is worth a rerun", async () => {
    const files = await lakeOf(events);
    const store = memoryStore(files);
    const reader = new LakeReader({ ...store, get: async () => store.get("nope") }, TOPIC, "memory");
    const day = (await reader.days())[2] as string;
    await expect(asOfCustomers(reader, parseAsOf(day), params, {})).rejects.toMatchObject({
      retryable: true,
      message: expect.stringMatching(/disappeared while it was read .* run again/),
    });
  });
});
