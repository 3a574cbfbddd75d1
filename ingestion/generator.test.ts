import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { CsvParser } from "./csv-parser.ts";
import { generate, REES46_HEADER, SHORT_HEADER } from "./generator.ts";
import { resolveHeader } from "./header.ts";
import { RowValidator } from "./rows.ts";

const dir = join(tmpdir(), `capline-gen-${randomUUID()}`);
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rowsOf(text: string): string[][] {
  const parser = new CsvParser();
  return [...parser.push(text), ...parser.end()].map((r) => r.fields);
}

describe("generate", () => {
  it("is deterministic for a seed and differs across seeds", async () => {
    const a = join(dir, "a.csv");
    const b = join(dir, "b.csv");
    const c = join(dir, "c.csv");
    await generate({ out: a, events: 5000, seed: 11 });
    await generate({ out: b, events: 5000, seed: 11 });
    await generate({ out: c, events: 5000, seed: 12 });
    expect(readFileSync(a)).toEqual(readFileSync(b));
    expect(readFileSync(a)).not.toEqual(readFileSync(c));
  });

  it("with --users, every one of them appears (a Zipf law alone leaves the tail out), still heavy-tailed", async () => {
    const out = join(dir, `users-${randomUUID()}.csv`);
    const summary = await generate({ out, events: 40_000, users: 4_000, seed: 5 });
    const rows = readFileSync(out, "utf8").trim().split("\n").slice(1);
    const perUser = new Map<string, number>();
    for (const r of rows) {
      const user = r.split(",")[7] ?? "";
      perUser.set(user, (perUser.get(user) ?? 0) + 1);
    }
    expect(perUser.size).toBe(4_000);
    expect(summary.users).toBe(4_000);
    const sorted = [...perUser.values()].sort((x, y) => y - x);
    const top = sorted.slice(0, 40).reduce((s, n) => s + n, 0);
    expect(top / rows.length).toBeGreaterThan(0.05);
    // Without --users the Zipf law alone picks them: fewer distinct users than the population.
    const plainOut = join(dir, `plain-${randomUUID()}.csv`);
    await generate({ out: plainOut, events: 40_000, seed: 5 });
    const plain = new Set(
      readFileSync(plainOut, "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .map((r) => r.split(",")[7]),
    );
    expect(plain.size).toBeLessThan(Math.round(40_000 / 11));
  });

  it("writes realistic REES46 rows that all pass validation", async () => {
    const out = join(dir, "r.csv");
    const summary = await generate({ out, events: 60_000, seed: 3, days: 14, startDate: "2020-01-01" });
    const text = readFileSync(out, "utf8");
    const rows = rowsOf(text);
    expect(rows.shift()?.join(",")).toBe(REES46_HEADER);
    expect(rows).toHaveLength(60_000);
    expect(summary.rows).toBe(60_000);

    const validator = new RowValidator(resolveHeader(REES46_HEADER.split(","), "r.csv"), "r.csv");
    const parser = new CsvParser();
    const records = [...parser.push(text), ...parser.end()].slice(1);
    for (const r of records) validator.process(r);
    expect(validator.counts.rejected).toBe(0);
    expect(validator.counts.duplicates).toBe(summary.duplicates);
    expect(summary.duplicates).toBeGreaterThan(30);
    expect(summary.duplicates).toBeLessThan(300);

    const share = (pred: (r: string[]) => boolean) => rows.filter(pred).length / rows.length;
    expect(share((r) => r[1] === "view")).toBeGreaterThan(0.8);
    const carts = share((r) => r[1] === "cart");
    const purchases = share((r) => r[1] === "purchase");
    expect(carts).toBeGreaterThan(0.03);
    expect(purchases).toBeGreaterThan(0.01);
    expect(purchases).toBeLessThan(carts);
    expect(share((r) => r[1] === "remove_from_cart")).toBeGreaterThan(0.002);
    expect(share((r) => r[4] === "")).toBeGreaterThan(0.18);
    expect(share((r) => r[4] === "")).toBeLessThan(0.32);
    expect(share((r) => r[5] === "")).toBeGreaterThan(0.18);
    expect(share((r) => r[5] === "")).toBeLessThan(0.32);
    expect(rows.every((r) => /^\d{19}$/.test(r[7] ?? "") && /^\d{19}$/.test(r[3] ?? ""))).toBe(true);
    expect(rows.every((r) => /^[A-Za-z0-9]{10}$/.test(r[8] ?? ""))).toBe(true);
    expect(rows.every((r) => (r[0] ?? "") >= "2020-01-01" && (r[0] ?? "") < "2020-01-16")).toBe(true);

    // Heavy tails: the top 1 % of users make far more than 1 % of the events.
    const perUser = new Map<string, number>();
    for (const r of rows) perUser.set(r[7] ?? "", (perUser.get(r[7] ?? "") ?? 0) + 1);
    const sorted = [...perUser.values()].sort((x, y) => y - x);
    const top = sorted.slice(0, Math.ceil(sorted.length / 100)).reduce((s, n) => s + n, 0);
    expect(top / rows.length).toBeGreaterThan(0.1);

    // Hourly seasonality: evenings busier than nights.
    const hour = (h: string) => share((r) => (r[0] ?? "").slice(11, 13) === h);
    expect(hour("18")).toBeGreaterThan(hour("03") * 4);

    // Sessions belong to one user each.
    const owner = new Map<string, string>();
    for (const r of rows) {
      const prev = owner.get(r[8] ?? "");
      if (prev !== undefined) expect(prev).toBe(r[7]);
      owner.set(r[8] ?? "", r[7] ?? "");
    }
    // Duplicates sit next to their original.
    const lines = text.split("\n");
    const adjacent = lines.filter((l, i) => i > 0 && l !== "" && l === lines[i - 1]).length;
    expect(adjacent).toBe(summary.duplicates);
  });

  it("writes the short form, gzip and --append", async () => {
    const out = join(dir, "s.csv.gz");
    await generate({ out, events: 100, seed: 1, format: "short", gzip: true });
    await generate({ out, events: 50, seed: 2, format: "short", gzip: true, append: true });
    const rows = rowsOf(gunzipSync(readFileSync(out)).toString("utf8"));
    expect(rows[0]?.join(",")).toBe(SHORT_HEADER);
    expect(rows).toHaveLength(151);
    expect(rows.slice(1).every((r) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(r[4] ?? ""))).toBe(true);
  });

  it("honours --days with --events-per-day, and refuses a bad --start-date", async () => {
    const out = join(dir, "d.csv");
    const summary = await generate({ out, days: 3, eventsPerDay: 1000, seed: 5 });
    expect(summary.rows).toBe(3000);
    await expect(generate({ out, events: 1, startDate: "2019-02-30" })).rejects.toThrow(/--start-date/);
  });
});
