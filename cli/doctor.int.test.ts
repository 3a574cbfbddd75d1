import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSetup, setupTargets } from "../setup/index.ts";
import { randomEnv, removeAll, runCli, servicesFor } from "../setup/test/fixtures.ts";
import { serviceStatus } from "../stack/index.ts";
import { testConfig } from "../test/support/index.ts";

interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  fix: string | null;
  url: string | null;
  version: string | null;
}

/**
 * `capline doctor` against this machine's stack: healthy when everything is in place, warnings
 * when the structures are missing, broken (and saying how to fix it) when a service is stopped.
 */
describe("capline doctor on the running stack", () => {
  const env = randomEnv("doctor");
  const config = testConfig(env);
  const services = servicesFor(env);

  const doctor = async (extra: Record<string, string> = {}) => {
    const run = await runCli(["doctor", "--json"], { ...env, ...extra });
    if (!run.stdout.startsWith("{"))
      throw new Error(`doctor printed no report (exit ${run.code}): ${run.stderr}`);
    const report = JSON.parse(run.stdout) as { status: string; checks: Check[] };
    const check = (name: string) => report.checks.find((c) => c.name === name);
    return { ...run, report, check };
  };

  beforeAll(async () => {
    // The stack must be complete for the first test; a stopped service is the last test's business.
    expect(
      (await serviceStatus(config)).map((s) => s.state).filter((s) => s !== "up" && s !== "external"),
    ).toEqual([]);
  });

  afterAll(async () => {
    await removeAll(services, config);
    await services.close();
  });

  it("warns about missing topics, indices, bucket and HDFS root, with `capline setup` as the fix", async () => {
    const { code, report, check } = await doctor();
    expect(code).toBe(1);
    expect(report.status).toBe("warnings");
    for (const name of ["topics", "indices", "bucket", "hdfs root"]) {
      expect(check(name)?.status, name).toBe("warn");
      expect(check(name)?.fix, name).toContain("capline setup");
    }
    expect(check("topics")?.detail).toContain(config.kafka.topic);
  });

  it("passes once set up: every service answers with its URL, and versions where the server says", async () => {
    expect((await runSetup(services, setupTargets(config))).ok).toBe(true);
    const { code, report, check, stdout } = await doctor();
    expect(report.checks.filter((c) => c.status !== "ok")).toEqual([]);
    expect(report.status).toBe("healthy");
    expect(code).toBe(0);
    expect(check("elasticsearch")).toMatchObject({
      url: config.elasticsearch.url,
      version: config.versions.elastic,
    });
    expect(check("hdfs")).toMatchObject({ url: config.hdfs.webhdfsUrl, version: config.versions.hadoop });
    expect(check("redis")?.version).toMatch(/^\d+\.\d+/);
    expect(check("kafka")?.url).toBe(config.kafka.brokers.join(","));
    expect(check("minio")?.url).toBe(config.minio.endpoint);
    expect(check("indices")?.detail).toContain(`${config.elasticsearch.indexPrefix}-profiles`);
    expect(stdout).not.toContain(config.minio.secretKey);
    // The human form: the verdict first.
    const human = await runCli(["doctor"], env);
    expect(human.code).toBe(0);
    expect(human.stdout.split("\n")[0]).toBe("capline doctor: healthy");
  });

  it("names a port another program holds, for a service that does not answer", async () => {
    // A stack dir of its own: no pid files, so the service counts as down, not as ours.
    const state = mkdtempSync(join(tmpdir(), "capline-doctor-"));
    const squatter: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const port = (squatter.address() as { port: number }).port;
    try {
      const { code, check } = await doctor({
        CAPLINE_STACK_DIR: state,
        REDIS_URL: `redis://127.0.0.1:${port}`,
      });
      expect(code).toBe(2);
      expect(check("redis")?.status).toBe("fail");
      expect(check("ports")).toMatchObject({
        status: "fail",
        detail: expect.stringContaining(`127.0.0.1:${port} (redis, REDIS_URL)`),
        fix: expect.stringContaining("free port"),
      });
    } finally {
      squatter.close();
      rmSync(state, { recursive: true, force: true });
    }
  });

  it("names a stopped service with its URL and the fix, and the fix works", async () => {
    const down = await runCli(["stack", "down", "redis"], env);
    expect(down.code, down.stderr).toBe(0);
    try {
      const { code, report, check } = await doctor();
      expect(code).toBe(2);
      expect(report.status).toBe("broken");
      expect(check("redis")).toMatchObject({
        status: "fail",
        url: config.redis.url,
        detail: expect.stringContaining(`not reachable at ${config.redis.url}`),
        fix: expect.stringContaining("`capline stack up redis`"),
      });
      // Its port is free for the restart; the other services are untouched.
      expect(check("ports")?.status).toBe("ok");
      expect(check("kafka")?.status).toBe("ok");
    } finally {
      // The fix the doctor gave, as a user would type it.
      const up = await runCli(["stack", "up", "redis"], env);
      expect(up.code, up.stderr).toBe(0);
    }
    const { code } = await doctor();
    expect(code).toBe(0);
  });
});
