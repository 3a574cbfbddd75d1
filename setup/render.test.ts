import { describe, expect, it } from "vitest";
import { redactUrl } from "../core/clients/redis.ts";
import { ServiceUnavailableError } from "../core/errors.ts";
import { checkpointTopicOf, concreteIndexName, dispatcherGroupOf } from "../core/names.ts";
import { renderSetupReport, type SetupItem, summarize } from "./report.ts";
import { type ResetPlan, renderPlan, renderResetResult } from "./reset.ts";
import { serviceError } from "./service-errors.ts";

const item = (status: SetupItem["status"], name: string, differences: string[] = []): SetupItem => ({
  store: "Elasticsearch",
  kind: "index",
  name,
  status,
  differences,
});

describe("setup report", () => {
  it("counts statuses and says ok only without differences", () => {
    const report = summarize([item("created", "a"), item("unchanged", "b"), item("unchanged", "c")]);
    expect(report.counts).toEqual({ created: 1, unchanged: 2, migrated: 0, differs: 0 });
    expect(report.ok).toBe(true);
    expect(report.changed).toBe(true);
    expect(summarize([item("differs", "a", ["x"])]).ok).toBe(false);
  });

  it("says nothing changed when everything was in place", () => {
    const text = renderSetupReport(summarize([item("unchanged", "idx-a"), item("unchanged", "idx-b")]));
    expect(text).toContain("=  Elasticsearch  index  idx-a  unchanged");
    expect(text).toContain("Everything was in place already (2 items); nothing changed.");
  });

  it("lists each difference under its item and tells how to fix", () => {
    const text = renderSetupReport(
      summarize([
        item("created", "idx-a"),
        item("differs", "idx-b", [
          "views: expected type long, found keyword",
          "colour: not expected (found text)",
        ]),
      ]),
    );
    const lines = text.split("\n");
    const at = lines.findIndex((l) => l.includes("idx-b"));
    expect(lines[at]).toMatch(/^!\s+Elasticsearch\s+index\s+idx-b\s+differs/);
    expect(lines[at + 1]).toBe("      - views: expected type long, found keyword");
    expect(lines[at + 2]).toBe("      - colour: not expected (found text)");
    expect(text).toContain("1 item differs from what capline expects; nothing existing was changed.");
  });
});

const plan: ResetPlan = {
  drop: false,
  total: 57,
  steps: [
    {
      store: "Kafka",
      kind: "topic",
      name: "customer-events",
      present: true,
      count: 42,
      unit: "messages",
      action: "delete and recreate empty (6 partitions, same settings)",
    },
    {
      store: "Kafka",
      kind: "topic",
      name: checkpointTopicOf("customer-events"),
      present: false,
      count: 0,
      unit: "messages",
      action: "absent, skipped",
    },
    {
      store: "Kafka",
      kind: "consumer-group",
      name: dispatcherGroupOf("capline"),
      present: true,
      count: undefined,
      unit: "",
      action: "delete the group and its committed offsets",
    },
    {
      store: "Redis",
      kind: "redis-keys",
      name: "capline:*",
      present: true,
      count: 15,
      unit: "keys",
      action: "delete (BullMQ queues, jobs, locks)",
    },
  ],
};

describe("reset plan", () => {
  it("lists every step with its count, and the dry run says nothing is deleted", () => {
    const text = renderPlan(plan, true);
    const lines = text.split("\n");
    expect(lines[0]).toBe("capline reset --dry-run: nothing is deleted. Would delete:");
    expect(lines[1]).toMatch(
      /^ {2}Kafka\s+topic\s+customer-events\s+42 messages\s+delete and recreate empty/,
    );
    expect(lines[2]).toMatch(/customer-events\.checkpoints\s+-\s+absent, skipped$/);
    expect(lines[3]).toMatch(/capline-dispatcher\s+delete the group/);
    expect(lines[4]).toMatch(/^ {2}Redis\s+redis-keys\s+capline:\*\s+15 keys\s+delete/);
    expect(text).toContain("Run `capline reset --yes` to delete this.");
  });

  it("aligns the columns", () => {
    const lines = renderPlan(plan, false).split("\n").slice(1, 5);
    const nameColumns = lines.map((l, i) => l.indexOf(` ${plan.steps[i]?.name} `));
    expect(nameColumns.every((c) => c > 0)).toBe(true);
    expect(new Set(nameColumns).size).toBe(1);
  });

  it("states the total when not a dry run", () => {
    expect(renderPlan(plan, false)).toContain("57 messages, documents, objects, files and keys in all.");
    expect(renderPlan({ drop: false, steps: [], total: 0 }, false)).toContain(
      "There is no pipeline data; reset only recreates the empty structures.",
    );
    expect(renderPlan({ drop: true, steps: [], total: 0 }, false)).toContain(
      "There is no pipeline data; --drop removes the empty structures.",
    );
    expect(renderPlan({ ...plan, total: 1234567 }, false)).toContain("1,234,567 messages");
  });

  it("marks what was deleted and skips absent items in the result", () => {
    const text = renderResetResult({
      drop: false,
      steps: plan.steps.map((s) => ({ ...s, done: true })),
      recreated: [item("created", concreteIndexName("capline", "profiles"))],
    });
    expect(text).toMatch(/deleted\s+Kafka\s+topic\s+customer-events\s+42 messages/);
    expect(text).not.toContain("checkpoints");
    expect(text).toContain("Recreated 1 empty Elasticsearch index or alias.");
    const two = [item("created", "a"), item("created", "b")];
    expect(renderResetResult({ drop: false, steps: [], recreated: two })).toContain(
      "Recreated 2 empty Elasticsearch indices and aliases.",
    );
  });

  it("says a dropped name is gone and how to recreate it", () => {
    const dropped = { ...plan, drop: true };
    expect(renderPlan(dropped, true)).toContain("capline reset --drop --dry-run: nothing is deleted.");
    expect(renderPlan(dropped, true)).toContain("Run `capline reset --drop --yes` to delete this.");
    const text = renderResetResult({ drop: true, steps: [], recreated: [] });
    expect(text).toContain("Dropped: nothing of these names is left. `capline setup` creates them again.");
    expect(text).not.toContain("Recreated");
  });
});

describe("redactUrl", () => {
  it("removes credentials from a Redis URL before showing it", () => {
    expect(redactUrl("redis://user:s3cret@redis.example:6380/2")).toBe("redis://redis.example:6380/2");
    expect(redactUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
  });
});

describe("serviceError", () => {
  it("names the service and URL when the connection is refused", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9000"), { code: "ECONNREFUSED" });
    const e = serviceError("MinIO", "http://127.0.0.1:9000", "create bucket x", refused);
    expect(e).toBeInstanceOf(ServiceUnavailableError);
    expect(e.message).toBe(
      "MinIO is not reachable at http://127.0.0.1:9000: create bucket x: connect ECONNREFUSED 127.0.0.1:9000",
    );
  });

  it("passes capline's own errors through unchanged (core/kafka throws them already)", () => {
    const unavailable = new ServiceUnavailableError(
      "Kafka",
      "127.0.0.1:9092",
      "list topics: connect ECONNREFUSED",
    );
    expect(serviceError("Kafka", "127.0.0.1:9092", "connect", unavailable)).toBe(unavailable);
  });

  it("recognises a refused connection anywhere in the cause chain", () => {
    const inner = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" });
    const outer = new Error("retries exceeded", { cause: new Error("connection failed", { cause: inner }) });
    expect(serviceError("Redis", "redis://127.0.0.1:6379", "connect", outer)).toBeInstanceOf(
      ServiceUnavailableError,
    );
  });

  it("keeps a refusal by a service that answered as SERVICE_ERROR", () => {
    const e = serviceError(
      "Kafka",
      "127.0.0.1:9092",
      "create topics",
      new Error("Topic authorization failed"),
    );
    expect(e.code).toBe("SERVICE_ERROR");
    expect(e.message).toBe("Kafka (127.0.0.1:9092) refused to create topics: Topic authorization failed");
  });
});
