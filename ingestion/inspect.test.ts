import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { CsvParser } from "./csv-parser.ts";
import { resolveHeader } from "./header.ts";
import { inspectFile, profileJson } from "./inspect.ts";
import { emptyCounts, RowValidator } from "./rows.ts";

const REES46 = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
const ROWS = [
  "2019-10-01 00:00:00 UTC,view,1,10,electronics.smartphone,apple,100.50,u1,s1",
  "2019-10-01 00:00:00 UTC,view,1,10,electronics.smartphone,apple,100.50,u1,s1", // duplicate
  "2019-10-01 01:00:00 UTC,cart,2,20,,samsung,0,u2,s2", // empty category, zero price
  "2019-10-02 12:00:00 UTC,purchase,2,20,appliances.kitchen,,25,u2,", // empty brand, no session
  "2019-10-03 23:59:59 UTC,remove_from_cart,3,30,,,5.5,u3,s3",
  "2019-10-02 10:00:00 UTC,view,4,40,a.b,x,1,,s4", // missing_field: user_id
  "2019/10/02 10:00:00,view,4,40,a.b,x,1,u4,s4", // bad_timestamp
  "2019-10-02 10:00:00 UTC,click,4,40,a.b,x,1,u4,s4", // bad_event_type
  "2019-10-02 10:00:00 UTC,view,4,40,a.b,x,-3,u4,s4", // bad_price (negative)
  "2019-10-02 10:00:00 UTC,view,4,40,a.b,x,1e3,u4,s4", // bad_price
  "2019-10-02 10:00:00 UTC,view,4,40", // malformed_row
];
const TEXT = `${REES46}\n${ROWS.join("\n")}\n`;

describe("capline inspect's profile", () => {
  const dir = mkdtempSync(join(tmpdir(), "capline-inspect-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "events.csv");
  writeFileSync(file, TEXT);

  it("counts exactly what the ingester's validator counts, reason by reason", async () => {
    // The reference: the validator run directly over the parser's records, as the ingester does.
    const parser = new CsvParser();
    const [header, ...records] = [...parser.push(TEXT), ...parser.end()];
    const validator = new RowValidator(resolveHeader(header?.fields ?? [], file), file);
    for (const r of records) validator.process(r);
    const profile = await inspectFile(file);
    expect(profile.counts).toEqual(validator.counts);
    expect(profile.counts).toMatchObject({ rows: 11, sent: 4, duplicates: 1, rejected: 6 });
    // Every reason of the validator's own list is there, refused or not.
    expect(Object.keys(profile.counts.rejectedByReason).sort()).toEqual(
      Object.keys(emptyCounts().rejectedByReason).sort(),
    );
    expect(profile.counts.rejectedByReason).toMatchObject({
      missing_field: 1,
      bad_timestamp: 1,
      bad_event_type: 1,
      bad_price: 2,
      malformed_row: 1,
    });
  });

  it("shows the first examples of each reason with their lines, and profiles the accepted events", async () => {
    const profile = await inspectFile(file, { examples: 1 });
    expect(profile.examples.bad_price).toEqual([{ line: 10, detail: 'negative price "-3"', raw: ROWS[8] }]);
    expect(profile.examples.missing_field?.[0]).toMatchObject({ line: 7, detail: "empty user_id" });
    expect(Object.keys(profile.examples).sort()).toEqual(
      ["bad_event_type", "bad_price", "bad_timestamp", "malformed_row", "missing_field"].sort(),
    );
    expect(profile.negative_prices).toBe(1);
    expect(profile.events).toEqual({
      by_type: { view: 1, cart: 1, purchase: 1, remove_from_cart: 1 },
      by_day: { "2019-10-01": 2, "2019-10-02": 1, "2019-10-03": 1 },
      first_event_time: "2019-10-01T00:00:00.000Z",
      last_event_time: "2019-10-03T23:59:59.000Z",
      customers: 3,
      sessions: 3,
      empty_brand: 2,
      empty_category_code: 2,
      zero_price: 1,
    });
    expect(profile.format).toBe("rees46");
    expect(profile.mapping.user_id).toBe("user_id");
  });

  it("reads gzip and mapped headers as ingest does, and prints snake_case JSON", async () => {
    const gz = join(dir, "mapped.csv.gz");
    writeFileSync(
      gz,
      gzipSync("uid,ts,kind,sku,amount\nu1,2019-10-01 00:00:00,view,p1,1.5\nu2,bad,view,p1,1\n"),
    );
    const profile = await inspectFile(gz, {
      map: "uid=user_id,ts=event_time,kind=event_type,sku=product_id,amount=price",
    });
    expect(profile.format).toBe("mapped");
    expect(profile.mapping).toMatchObject({ user_id: "uid", event_time: "ts", brand: null });
    expect(profile.counts).toMatchObject({ rows: 2, sent: 1, rejected: 1 });
    const json = profileJson(profile);
    expect(Object.keys(json).every((k) => /^[a-z_]+$/.test(k))).toBe(true);
    expect(json).toMatchObject({
      rows: 2,
      accepted: 1,
      rejected: 1,
      rejected_by_reason: { bad_timestamp: 1 },
    });
  });

  it("refuses a header that lacks a required column, as ingest does", async () => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "a,b,c\n1,2,3\n");
    await expect(inspectFile(bad)).rejects.toThrow(/lacks required column/);
  });
});
