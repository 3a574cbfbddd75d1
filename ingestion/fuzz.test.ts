import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CaplineEvent } from "../core/schema/events.ts";
import { REJECT_REASONS } from "../core/schema/reasons.ts";
import { CsvParser, type CsvRecord } from "./csv-parser.ts";
import { resolveHeader } from "./header.ts";
import { canonicalRow, eventIdOf, type RowOutcome, RowValidator, rowLimits } from "./rows.ts";
import { invalidAt, showInvalid, Utf8Decoder } from "./utf8.ts";

/**
 * Property-based fuzzing of the row parser and validator (issue 12, item 6): random bytes, random
 * quoting, random field counts, huge and tiny values, random encodings and random cuts between
 * chunks. Whatever comes in: nothing throws, the counts reconcile (rows = sent + rejected +
 * duplicates, the reasons add up), every line is accounted for in order, and an accepted row's
 * canonical event round-trips (its JSON is the event, its fields are the row's, its id is the
 * content's). Fixed seed (FUZZ_SEED overrides it to explore), a bounded number of runs each.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const options = { seed: SEED, numRuns: RUNS, endOnFailure: true } as const;

const HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
const NOW = Date.parse("2026-06-01T00:00:00Z");
const LIMITS = { ...rowLimits(undefined, NOW), maxLineChars: 4096, maxEventBytes: 2048, maxIdBytes: 64 };

/** Feeds bytes through the decoder and parser in the given cuts, then validates every record. */
function ingestBytes(
  bytes: Uint8Array,
  cuts: number[],
): { records: CsvRecord[]; outcomes: RowOutcome[]; validator?: RowValidator } {
  const decoder = new Utf8Decoder();
  const parser = new CsvParser(LIMITS.maxLineChars);
  const records: CsvRecord[] = [];
  const outcomes: RowOutcome[] = [];
  let validator: RowValidator | undefined;
  const handle = (batch: CsvRecord[]) => {
    for (const r of batch) {
      records.push(r);
      if (!validator) {
        validator = new RowValidator(resolveHeader(r.fields, "fuzz.csv"), "fuzz.csv", 50, LIMITS);
        parser.setExpectedFields(9);
        continue;
      }
      validator.checkCharacters ||= decoder.suspect;
      outcomes.push(validator.process(r));
    }
  };
  let at = 0;
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
    if (cut <= at) continue;
    handle(parser.push(decoder.write(Buffer.from(bytes.subarray(at, cut)))));
    at = cut;
  }
  const rest = decoder.end();
  if (rest) handle(parser.push(rest));
  handle(parser.end());
  return { records, outcomes, ...(validator ? { validator } : {}) };
}

function expectReconciled(outcomes: RowOutcome[], validator: RowValidator | undefined): void {
  if (!validator) return;
  const c = validator.counts;
  expect(c.rows).toBe(outcomes.length);
  expect(c.sent + c.rejected + c.duplicates).toBe(c.rows);
  expect(Object.keys(c.rejectedByReason)).toEqual([...REJECT_REASONS]);
  expect(Object.values(c.rejectedByReason).reduce((a, b) => a + b, 0)).toBe(c.rejected);
  expect(outcomes.filter((o) => o.kind === "event")).toHaveLength(c.sent);
  expect(outcomes.filter((o) => o.kind === "reject")).toHaveLength(c.rejected);
  for (const o of outcomes) {
    if (o.kind !== "reject") continue;
    expect(REJECT_REASONS).toContain(o.row.reason);
    expect(o.row.raw.length).toBeLessThanOrEqual(4096);
    expect(invalidAt(o.row.raw)).toBe(-1); // invalid bytes are shown as U+FFFD
    expect(Buffer.byteLength(JSON.stringify(o.row))).toBeLessThan(64 * 1024);
  }
}

/** The accepted row's event: its JSON is the object, its fields are the row's, its id the content's. */
function expectRoundTrip(o: RowOutcome, fields: readonly string[] | undefined): void {
  if (o.kind !== "event") return;
  const parsed = JSON.parse(o.value) as CaplineEvent;
  expect(parsed).toEqual(o.event);
  if (!fields) return;
  const e = o.event;
  expect(e.product_id).toBe(fields[2]);
  expect(e.category_id).toBe(fields[3]);
  expect(e.category_code).toBe(fields[4] === "" ? null : fields[4]);
  expect(e.brand).toBe(fields[5] === "" ? null : fields[5]);
  expect(e.price).toBe(Number(fields[6]));
  expect(e.user_id).toBe(fields[7]);
  expect(e.user_session).toBe(fields[8]);
  expect(e.event_id).toBe(eventIdOf(canonicalRow(fields)));
  expect(Buffer.byteLength(o.value)).toBeLessThanOrEqual(LIMITS.maxEventBytes);
  expect(e.price).toBeLessThanOrEqual(LIMITS.maxPrice);
  expect(e.event_time >= LIMITS.eventTimeMin && e.event_time <= LIMITS.eventTimeMax).toBe(true);
}

/** A field the way an export (or an attacker) might write it. */
const anyText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      ",",
      '"',
      '""',
      "\n",
      "\r\n",
      "\r",
      "\0",
      "\x1b[31m",
      "=1+1",
      "\ufffd",
      "😀",
    ),
  },
  { weight: 1, arbitrary: fc.nat(70).map((n) => "x".repeat(n)) },
  { weight: 1, arbitrary: fc.nat(3000).map((n) => "y".repeat(n)) },
);
const eventTime = fc.oneof(
  fc
    .date({
      min: new Date("1985-01-01T00:00:00Z"),
      max: new Date("2027-12-31T00:00:00Z"),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString().replace("T", " ").slice(0, 19)),
  fc
    .date({
      min: new Date("0001-01-01T00:00:00Z"),
      max: new Date("9999-12-31T00:00:00Z"),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    "2019-10-01 00:00:00 UTC",
    "2019-02-29 00:00:00",
    "0001-01-01 00:00:00",
    "9999-12-31T23:59:59Z",
  ),
  anyText,
);
const price = fc.oneof(
  fc.integer({ min: 0, max: 100_000 }).map((c) => (c / 100).toFixed(2)),
  fc.constantFrom(
    "0",
    "0.00",
    "999999999999.99",
    "1000000000000",
    `1${"0".repeat(307)}`,
    "1e3",
    "-1.00",
    ".5",
    "NaN",
  ),
  fc.stringMatching(/^\d{1,20}(\.\d{1,20})?$/),
  anyText,
);
const id = fc.oneof(
  fc.stringMatching(/^\d{1,19}$/),
  fc.nat(100).map((n) => "9".repeat(n)),
  anyText,
);
const eventType = fc.oneof(
  fc.constantFrom("view", "cart", "remove_from_cart", "purchase", "View", "click", ""),
  anyText,
);
const row = fc.tuple(eventTime, eventType, id, id, anyText, anyText, price, id, id);

/** RFC 4180 with a choice per field: quoted when it must be, or also when it need not. */
function writeField(value: string, quote: boolean): string {
  return quote || /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

describe("fuzzing the row parser and validator (fixed seed, bounded runs)", () => {
  it("random bytes after a header: nothing throws, counts reconcile, every event round-trips", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        (body, cuts, bom) => {
          const head = Buffer.from(`${bom ? "\ufeff" : ""}${HEADER}\n`);
          const bytes = Buffer.concat([head, body]);
          const { outcomes, validator } = ingestBytes(bytes, cuts);
          expectReconciled(outcomes, validator);
          for (const o of outcomes) expectRoundTrip(o, undefined);
        },
      ),
      options,
    );
  });

  it("random rows, quoting, field counts, huge and tiny values, line ends and cuts", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            fields: fc.oneof(
              { weight: 6, arbitrary: row.map((r) => [...r]) },
              { weight: 1, arbitrary: fc.array(anyText, { maxLength: 12 }) },
            ),
            quote: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
            crlf: fc.boolean(),
          }),
          { maxLength: 25 },
        ),
        fc.array(fc.nat(), { maxLength: 8 }),
        (rows, cuts) => {
          const text = `${HEADER}\n${rows
            .map(
              (r) =>
                r.fields.map((f, i) => writeField(f, r.quote[i] ?? false)).join(",") +
                (r.crlf ? "\r\n" : "\n"),
            )
            .join("")}`;
          const { records, outcomes, validator } = ingestBytes(Buffer.from(text), cuts);
          expectReconciled(outcomes, validator);
          // Physical lines only grow, and every record starts on a line of the file.
          const lines = text.split("\n").length;
          for (let i = 1; i < records.length; i++) {
            expect((records[i] as CsvRecord).line).toBeGreaterThan((records[i - 1] as CsvRecord).line);
            expect((records[i] as CsvRecord).line).toBeLessThanOrEqual(lines);
          }
          // Rows that are well-formed nine-field records are parsed back to exactly their fields.
          const parsedFields = new Map(records.map((r) => [r.line, r.fields]));
          for (const o of outcomes) {
            if (o.kind !== "event") continue;
            expectRoundTrip(o, parsedFields.get(o.event.source.line));
            const source = rows.find(
              (r) =>
                r.fields.length === 9 &&
                r.fields[7] === o.event.user_id &&
                r.fields[2] === o.event.product_id,
            );
            expect(source).toBeDefined();
          }
        },
      ),
      options,
    );
  });

  it("RFC 4180 round trip: any records, any quoting, any cuts give back the same fields", () => {
    const field = fc.string({ unit: "grapheme", maxLength: 10 });
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 6 })
          .chain((n) =>
            fc.array(fc.array(field, { minLength: n, maxLength: n }), { minLength: 1, maxLength: 20 }),
          ),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (records, quote, cuts) => {
          // A lone empty field is a blank line, which is not a record: quote it.
          const text = records
            .map((r) =>
              r.map((f, i) => writeField(f, (quote[i] ?? false) || (r.length === 1 && f === ""))).join(","),
            )
            .join("\n");
          const parser = new CsvParser();
          parser.setExpectedFields(records[0]?.length ?? 1);
          const out: CsvRecord[] = [];
          let at = 0;
          for (const cut of [...cuts.map((c) => c % (text.length + 1)).sort((a, b) => a - b), text.length]) {
            if (cut <= at) continue;
            out.push(...parser.push(text.slice(at, cut)));
            at = cut;
          }
          out.push(...parser.end());
          expect(out.map((r) => r.broken)).toEqual(records.map(() => undefined));
          expect(out.map((r) => r.fields)).toEqual(records);
        },
      ),
      options,
    );
  });

  it("the decoder equals Node's on valid UTF-8 cut anywhere, and marks exactly the invalid bytes", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (s, cuts) => {
          const bytes = Buffer.from(s, "utf8");
          const d = new Utf8Decoder();
          let at = 0;
          let text = "";
          for (const cut of [
            ...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b),
            bytes.length,
          ]) {
            if (cut <= at) continue;
            text += d.write(bytes.subarray(at, cut));
            at = cut;
          }
          text += d.end();
          expect(text).toBe(s);
          expect(d.suspect).toBe(s.includes("\0"));
        },
      ),
      options,
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
        const d = new Utf8Decoder();
        const text = d.write(Buffer.from(bytes)) + d.end();
        // Invalid sequences become the mark; the rest decodes as Node decodes it.
        expect(showInvalid(text)).toBe(Buffer.from(bytes).toString("utf8"));
        expect(d.suspect).toBe(
          !Buffer.from(bytes).equals(Buffer.from(Buffer.from(bytes).toString("utf8"))) || bytes.includes(0),
        );
      }),
      options,
    );
  });
});
