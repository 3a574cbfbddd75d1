import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../core/config/index.ts";
import { monitorOptions } from "./options.ts";
import { runChecks } from "./run.ts";

/**
 * Kibana does not run on this machine, so its check is exercised against a local server that
 * answers `/api/status` with the bodies Kibana 8 sends (overall level available / degraded /
 * unavailable; 401 without credentials). The refused case needs no server at all.
 */

let server: Server;
let base = "";
let answer: { status: number; body: unknown } = { status: 200, body: {} };
let seenAuth: string | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    seenAuth = req.headers.authorization;
    if (req.url !== "/api/status") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const status = (level: string) => ({
  version: { number: "8.19.21" },
  status: { overall: { level, summary: `${level} summary` } },
});

async function kibanaRow(mode: "optional" | "required", env: Record<string, string> = {}) {
  const config = loadConfig({ env: { KIBANA_URL: base, ...env }, root: "/nonexistent" });
  const report = await runChecks(config, monitorOptions(config, { only: "kibana", kibana: mode }));
  const row = report.checks.find((c) => c.name === "kibana");
  return { status: row?.status, reason: row?.reason, critical: row?.critical, exit: report.exitCode };
}

describe("kibana check", () => {
  it("maps the overall level: available OK, degraded WARN, unavailable WARN or DOWN by mode", async () => {
    answer = { status: 200, body: status("available") };
    expect(await kibanaRow("optional")).toEqual({
      status: "OK",
      reason: "available, Kibana 8.19.21: available summary",
      critical: false,
      exit: 0,
    });
    answer = { status: 200, body: status("degraded") };
    expect((await kibanaRow("required")).status).toBe("WARN");
    // Kibana answers 503 with the same JSON when unavailable.
    answer = { status: 503, body: status("unavailable") };
    expect(await kibanaRow("optional")).toMatchObject({ status: "WARN", exit: 1 });
    expect(await kibanaRow("required")).toMatchObject({ status: "DOWN", exit: 2, critical: false });
  });

  it("sends basic auth when configured and names the variables on 401", async () => {
    answer = { status: 401, body: { statusCode: 401, error: "Unauthorized" } };
    const row = await kibanaRow("required", { KIBANA_USERNAME: "elastic", KIBANA_PASSWORD: "pw-12345" });
    expect(row).toMatchObject({
      status: "DOWN",
      reason: "HTTP 401: check KIBANA_USERNAME / KIBANA_PASSWORD",
    });
    expect(seenAuth).toBe(`Basic ${Buffer.from("elastic:pw-12345").toString("base64")}`);
  });

  it("nothing listening: SKIP (not deployed) when optional, DOWN when required", async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, "127.0.0.1", () => {
        const port = (probe.address() as { port: number }).port;
        probe.close(() => resolve(port));
      });
    });
    const env = { KIBANA_URL: `http://127.0.0.1:${closed}` };
    const optional = await kibanaRow("optional", env);
    expect(optional.status).toBe("SKIP");
    expect(optional.reason).toMatch(/^not deployed: connection refused at KIBANA_URL/);
    expect(optional.exit).toBe(0);
    expect(await kibanaRow("required", env)).toMatchObject({
      status: "DOWN",
      reason: "connection refused",
      exit: 2,
    });
  });
});
