import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { problems, SCHEMAS, schemaFile } from "./schemas.ts";

/** The schemas compile, and refuse what they must (the outputs themselves are checked in the integration tests). */
describe("docs/schemas", () => {
  it("compile in strict mode and document themselves", () => {
    for (const name of SCHEMAS) {
      const schema = JSON.parse(readFileSync(schemaFile(name), "utf8"));
      expect(schema.title, name).toContain(`capline ${name === "report" ? "report" : name}`);
      expect(problems(name, {}).length, name).toBeGreaterThan(0);
    }
  });

  it("refuse camelCase keys and wrong types, accept a well-formed summary", () => {
    const ingest = {
      ok: true,
      run_id: "r",
      topic: "t",
      dlq_topic: "t.dlq",
      rows: 3,
      sent: 2,
      rejected: 1,
      duplicates: 0,
      rejected_by_reason: {
        missing_field: 1,
        bad_timestamp: 0,
        bad_event_type: 0,
        bad_price: 0,
        malformed_row: 0,
      },
      seconds: 0.1,
      rows_per_second: 30,
      files: [],
    };
    expect(problems("ingest", ingest)).toEqual([]);
    const camel = { ...ingest, runId: "r" };
    expect(problems("ingest", camel).join("\n")).toContain("$.runId: not snake_case");
    expect(problems("ingest", { ...ingest, rows: "3" }).join("\n")).toContain("/rows must be integer");
    expect(problems("process", { role: "all", status: "idle", seconds: 1, events_per_second: 2 })).toEqual(
      [],
    );
    expect(
      problems("process", { role: "all", status: "busy", seconds: 1, events_per_second: 2 }).length,
    ).toBe(1);
  });
});
