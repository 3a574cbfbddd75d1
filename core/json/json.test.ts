import { describe, expect, expectTypeOf, it } from "vitest";
import { camelKeys, type SnakeKeys, snakeCase, snakeKeys } from "./index.ts";

describe("snake_case keys at the output boundary", () => {
  it("renames identifier keys, and only those", () => {
    expect(snakeCase("runId")).toBe("run_id");
    expect(snakeCase("mbPerSecond")).toBe("mb_per_second");
    expect(snakeCase("resumedFromLine")).toBe("resumed_from_line");
    expect(snakeCase("p95Ms")).toBe("p95_ms");
    for (const key of [
      "ok",
      "run_id",
      "ELASTICSEARCH_URL",
      "capline-sales-daily",
      "data/Sample.csv",
      "1599999999000000001",
      "/healthz",
      "Champions",
      "pipeline.lag",
      "",
    ])
      expect(snakeCase(key), key).toBe(key);
  });

  it("walks objects and arrays deeply, keeps values and data maps as they are", () => {
    const value = {
      runId: "r1",
      dlqTopic: "customer-events.dlq",
      files: [{ fileId: "abc", thisRun: { sentEvents: 2 }, status: "completed" }],
      documents: { "capline-profiles": 3, myAlias: 4 },
      byReason: { missing_field: 1 },
      when: new Date(Date.UTC(2019, 9, 1)),
      nothing: null,
      list: [1, "twoThree", null],
    };
    const out = snakeKeys(value, ["documents"]);
    expect(out).toEqual({
      run_id: "r1",
      dlq_topic: "customer-events.dlq",
      files: [{ file_id: "abc", this_run: { sent_events: 2 }, status: "completed" }],
      documents: { "capline-profiles": 3, myAlias: 4 },
      by_reason: { missing_field: 1 },
      when: value.when,
      nothing: null,
      list: [1, "twoThree", null],
    });
    expect(camelKeys(out)).toEqual(["$.documents.myAlias"]);
    expect(camelKeys(value)).toEqual([
      "$.runId",
      "$.dlqTopic",
      "$.files[0].fileId",
      "$.files[0].thisRun",
      "$.files[0].thisRun.sentEvents",
      "$.documents.myAlias",
      "$.byReason",
    ]);
    // The input is not modified.
    expect(Object.keys(value)).toContain("runId");
  });

  it("goes through toJSON (errors, URLs) before renaming", () => {
    const error = { toJSON: () => ({ errorCode: "X", retryAfterMs: 5 }) };
    expect(snakeKeys({ error })).toEqual({ error: { error_code: "X", retry_after_ms: 5 } });
  });

  it("types the result", () => {
    interface Summary {
      runId: string;
      files: Array<{ fileId: string; thisRun: { sent: number } }>;
    }
    expectTypeOf<SnakeKeys<Summary>>().toEqualTypeOf<{
      run_id: string;
      files: Array<{ file_id: string; this_run: { sent: number } }>;
    }>();
  });
});
