import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../core/exit-codes.ts";
import { runSetup, setupTargets } from "../setup/index.ts";
import { randomEnv, removeAll, runCli, servicesFor } from "../setup/test/fixtures.ts";
import { testConfig } from "../test/support/index.ts";

/**
 * `capline inspect FILE --json` reports the counts `capline ingest` reports for the same file,
 * refusal reason by reason, and sends nothing: the topics are unchanged after it.
 */
describe("capline inspect against capline ingest", () => {
  const env = randomEnv("inspect");
  const config = testConfig(env);
  const services = servicesFor(env);
  const dir = mkdtempSync(join(tmpdir(), "capline-inspect-"));
  const file = join(dir, "sample.csv");

  const endOffsets = async () => {
    const admin = await services.admin();
    const sum = async (topic: string) => (await admin.offsets(topic)).reduce((n, p) => n + p.high, 0);
    return { events: await sum(config.kafka.topic), dlq: await sum(config.kafka.dlqTopic) };
  };

  beforeAll(async () => {
    expect((await runSetup(services, setupTargets(config))).ok).toBe(true);
    const generated = await runCli(["generate", "--out", file, "--events", "20000", "--seed", "5"], env);
    expect(generated.code, generated.stderr).toBe(ExitCode.OK);
    // Some rows of every kind of refusal, in the middle of the file.
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    lines.splice(
      500,
      0,
      "2019-10-02 10:00:00 UTC,view,4,40,a.b,x,1,,s4",
      "2019/10/02 10:00:00,view,4,40,a.b,x,1,u4,s4",
      "2019-10-02 10:00:00 UTC,click,4,40,a.b,x,1,u4,s4",
      "2019-10-02 10:00:00 UTC,view,4,40,a.b,x,-3,u4,s4",
      "2019-10-02 10:00:00 UTC,view,4,40",
    );
    writeFileSync(file, `${lines.join("\n")}\n`);
  });

  afterAll(async () => {
    await removeAll(services, config);
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("equals ingest's counts for the file and leaves the topics unchanged", async () => {
    const before = await endOffsets();
    const inspected = await runCli(["inspect", file, "--json"], env);
    expect(inspected.code, inspected.stderr).toBe(ExitCode.PARTIAL);
    const profile = (JSON.parse(inspected.stdout) as { files: Record<string, unknown>[] }).files[0] ?? {};
    expect(await endOffsets()).toEqual(before);

    const ingested = await runCli(["ingest", file, "--json"], env);
    expect(ingested.code, ingested.stderr).toBe(ExitCode.PARTIAL);
    const summary = (JSON.parse(ingested.stdout) as { files: Record<string, unknown>[] }).files[0] ?? {};
    // The ingest's JSON keys are being moved to snake_case by another change: read either form.
    const of = (o: Record<string, unknown>, snake: string, camel: string) => o[snake] ?? o[camel];
    expect(profile.rows).toBe(summary.rows);
    expect(profile.accepted).toBe(summary.sent);
    expect(profile.rejected).toBe(summary.rejected);
    expect(profile.duplicates).toBe(summary.duplicates);
    expect(profile.rejected_by_reason).toEqual(of(summary, "rejected_by_reason", "rejectedByReason"));
    expect(profile.rejected).toBe(5);
    // And what ingest then wrote is what inspect said it would.
    const after = await endOffsets();
    expect(after.dlq - before.dlq).toBeGreaterThanOrEqual(5);
  });
});
