import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../core/config/index.ts";
import { isServiceUnavailable } from "../core/errors.ts";
import { generateObjects, toNdjson } from "./generate.ts";
import { importSavedObjects, plainHttpWarning } from "./import.ts";

/**
 * A stand-in for Kibana's HTTP API, strict where Kibana is: it checks the request the importer
 * sends (path, method, `kbn-xsrf`, multipart body with a `file` field holding .ndjson, overwrite,
 * auth) and answers with the bodies Kibana 8.x sends. What it cannot tell is whether a real Kibana
 * accepts the objects themselves: that is `kibana validate`'s job, and docs/kibana.md says so.
 */

interface FakeOptions {
  /** Status probes answered "not ready" before Kibana is available. */
  notReady?: number;
  /** Expected Authorization header. */
  authorization?: string;
  /** Object ids the import reports as failed with missing_references. */
  failIds?: string[];
  /** Expected space prefix (`/s/<id>`). */
  space?: string;
}

interface Fake {
  url: string;
  statusCalls: number;
  imports: { path: string; file: string; fileName: string; contentType: string }[];
  rejections: string[];
  server: Server;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function startFakeKibana(options: FakeOptions = {}): Promise<Fake> {
  const fake: Fake = { url: "", statusCalls: 0, imports: [], rejections: [], server: createServer() };
  const bad = (res: ServerResponse, status: number, message: string) => {
    fake.rejections.push(message);
    reply(res, status, {
      statusCode: status,
      error: status === 401 ? "Unauthorized" : "Bad Request",
      message,
    });
  };
  fake.server.on("request", async (req, res) => {
    const url = new URL(req.url ?? "/", "http://kibana");
    if (options.authorization !== undefined && req.headers.authorization !== options.authorization) {
      bad(res, 401, "[security_exception]: unable to authenticate user");
      return;
    }
    if (req.method === "GET" && url.pathname === "/api/status") {
      fake.statusCalls++;
      const waiting = options.notReady ?? 0;
      if (fake.statusCalls <= waiting - 1) {
        // What Kibana answers while its server is starting.
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("Kibana server is not ready yet");
      } else if (fake.statusCalls === waiting) {
        reply(res, 503, {
          status: { overall: { level: "unavailable", summary: "Saved objects service is migrating" } },
        });
      } else {
        reply(res, 200, {
          name: "kibana",
          version: { number: "8.19.21", build_flavor: "traditional" },
          status: { overall: { level: "available", summary: "All services are available" }, core: {} },
        });
      }
      return;
    }
    const importPath = `${options.space ? `/s/${options.space}` : ""}/api/saved_objects/_import`;
    if (url.pathname !== importPath) {
      bad(res, 404, `Not Found: ${req.method} ${url.pathname}`);
      return;
    }
    if (req.method !== "POST") {
      bad(res, 404, `Not Found: ${req.method} ${url.pathname}`);
      return;
    }
    if (req.headers["kbn-xsrf"] === undefined) {
      bad(res, 400, "Request must contain a kbn-xsrf header.");
      return;
    }
    if (url.searchParams.get("overwrite") !== "true") {
      bad(res, 400, "expected overwrite=true");
      return;
    }
    const contentType = req.headers["content-type"] ?? "";
    if (!/^multipart\/form-data; boundary=/.test(contentType)) {
      bad(res, 415, `Unsupported Media Type: ${contentType}`);
      return;
    }
    const raw = await readBody(req);
    // Parse the multipart body with the platform's own parser, independent of how it was built.
    const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
    const file = form.get("file");
    if (!(file instanceof Blob) || !("name" in file)) {
      bad(res, 400, "[request body.file]: expected value of type [Stream] but got [undefined]");
      return;
    }
    const fileName = String((file as File).name);
    if (!fileName.endsWith(".ndjson")) {
      bad(res, 400, `Invalid file extension ${fileName}`);
      return;
    }
    const text = await file.text();
    fake.imports.push({ path: url.pathname, file: text, fileName, contentType });
    const objects = text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as { type?: string; id?: string; attributes?: { title?: string } })
      .filter((o) => o.type !== undefined);
    const failed = new Set(options.failIds ?? []);
    const successResults = objects
      .filter((o) => !failed.has(o.id ?? ""))
      .map((o) => ({
        type: o.type,
        id: o.id,
        meta: { title: o.attributes?.title, icon: "dashboardApp" },
        overwrite: true,
      }));
    const errors = objects
      .filter((o) => failed.has(o.id ?? ""))
      .map((o) => ({
        id: o.id,
        type: o.type,
        title: o.attributes?.title,
        meta: { title: o.attributes?.title },
        error: { type: "missing_references", references: [{ type: "index-pattern", id: "capline-gone" }] },
      }));
    reply(res, 200, {
      successCount: successResults.length,
      success: errors.length === 0,
      warnings: [],
      successResults,
      ...(errors.length ? { errors } : {}),
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
  servers.push(fake.server);
  fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  return fake;
}

/** A port nobody listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const ndjson = toNdjson(generateObjects());

describe("importSavedObjects against a Kibana-like HTTP server", () => {
  it("waits until Kibana is available, then imports every object as multipart with kbn-xsrf and basic auth", async () => {
    const authorization = `Basic ${Buffer.from("elastic:s3cret-pass").toString("base64")}`;
    const fake = await startFakeKibana({ notReady: 3, authorization });
    const waits: string[] = [];
    const result = await importSavedObjects({
      url: fake.url,
      ndjson,
      auth: { username: "elastic", password: "s3cret-pass" },
      timeoutMs: 10_000,
      pollMs: 20,
      onWait: (r) => waits.push(r),
    });
    expect(fake.rejections).toEqual([]);
    expect(fake.statusCalls).toBe(4);
    expect(waits).toHaveLength(3);
    expect(waits.at(-1)).toContain("status unavailable (Saved objects service is migrating)");
    expect(fake.imports).toHaveLength(1);
    expect(fake.imports[0]?.file).toBe(ndjson);
    expect(fake.imports[0]?.fileName).toBe("capline.ndjson");
    expect(result.success).toBe(true);
    expect(result.successCount).toBe(9);
    expect(result.kibanaVersion).toBe("8.19.21");
    expect(result.objects.every((o) => o.ok)).toBe(true);
    expect(result.objects.map((o) => o.id)).toContain("capline-sales");
  });

  it("sends an API key as `Authorization: ApiKey` and imports into a space under /s/<space>", async () => {
    const fake = await startFakeKibana({ authorization: "ApiKey a2V5OnNlY3JldA==", space: "analytics" });
    const result = await importSavedObjects({
      url: `${fake.url}/`,
      space: "analytics",
      ndjson,
      auth: { apiKey: "a2V5OnNlY3JldA==" },
      timeoutMs: 5000,
      pollMs: 20,
    });
    expect(fake.rejections).toEqual([]);
    expect(fake.imports[0]?.path).toBe("/s/analytics/api/saved_objects/_import");
    expect(result.success).toBe(true);
    expect(result.space).toBe("analytics");
  });

  it("reports each object Kibana refuses, with its error type and the missing references", async () => {
    const fake = await startFakeKibana({ failIds: ["capline-funnel"] });
    const result = await importSavedObjects({ url: fake.url, ndjson, timeoutMs: 5000, pollMs: 20 });
    expect(result.success).toBe(false);
    expect(result.successCount).toBe(8);
    const failed = result.objects.filter((o) => !o.ok);
    expect(failed).toEqual([
      {
        type: "dashboard",
        id: "capline-funnel",
        title: "capline · Conversion funnel",
        ok: false,
        error: "missing_references",
        message: 'missing index-pattern "capline-gone"',
      },
    ]);
  });

  it("names Kibana and the credentials when it answers 401", async () => {
    const fake = await startFakeKibana({ authorization: "Basic nobody" });
    await expect(
      importSavedObjects({
        url: fake.url,
        ndjson,
        auth: { username: "u", password: "wrong" },
        timeoutMs: 5000,
      }),
    ).rejects.toThrow(`Kibana at ${fake.url} answered 401: check KIBANA_USERNAME/KIBANA_PASSWORD`);
  });

  it("gives up on a closed port after the timeout, naming the URL", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const error = await importSavedObjects({ url, ndjson, timeoutMs: 600, pollMs: 100 }).catch(
      (e: unknown) => e,
    );
    expect(isServiceUnavailable(error)).toBe(true);
    expect(String((error as Error).message)).toContain(`Kibana is not reachable at ${url}: not ready after`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("refuses a space id Kibana would not accept, before any request", async () => {
    await expect(
      importSavedObjects({ url: "http://127.0.0.1:9", space: "Bad Space", ndjson, timeoutMs: 100 }),
    ).rejects.toThrow('--space: "Bad Space" is not a Kibana space id');
  });
});

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, "bin", "capline.mjs"), "kibana", "import", ...args],
      {
        env: { ...process.env, LOG_LEVEL: "silent", ...env },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("capline kibana import (CLI)", () => {
  it("imports the shipped file with auth from the environment and exits 0", async () => {
    const fake = await startFakeKibana({
      authorization: `Basic ${Buffer.from("kb:kb-pass").toString("base64")}`,
    });
    const r = await runCli(["--url", fake.url, "--json"], {
      KIBANA_USERNAME: "kb",
      KIBANA_PASSWORD: "kb-pass",
    });
    expect(fake.rejections).toEqual([]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(true);
    expect(out.success_count).toBe(9);
    expect(out.dashboards[0]).toContain(`${fake.url}/app/dashboards#/view/capline-customer-overview`);
    expect(r.stdout).not.toContain("kb-pass");
  });

  it("exits 1 and lists the refused object when Kibana reports an error", async () => {
    const fake = await startFakeKibana({ failIds: ["capline-ops"] });
    const r = await runCli(["--url", fake.url], {});
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ERROR  index-pattern "capline-ops" (capline-ops): missing_references');
  });

  it("exits 4 naming the URL when nothing listens there", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await runCli(["--url", url, "--timeout", "1"], {});
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`Kibana is not reachable at ${url}`);
  });
});

describe("hostile redirects and plain http (issue 12)", () => {
  it("refuses a redirect to another origin: nothing posted there, no credentials sent", async () => {
    const elsewhere = await startFakeKibana();
    const seen: { method?: string; path?: string; authorization?: string }[] = [];
    const redirector = createServer((req, res) => {
      seen.push({ method: req.method, path: req.url, authorization: req.headers.authorization });
      res.writeHead(307, { location: `${elsewhere.url}${req.url}` });
      res.end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, "127.0.0.1", resolve));
    servers.push(redirector);
    const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
    await expect(
      importSavedObjects({
        url,
        ndjson,
        auth: { username: "elastic", password: "s3cret-pass" },
        timeoutMs: 5_000,
        pollMs: 20,
      }),
    ).rejects.toThrow(/redirected to another origin \(http:\/\/127\.0\.0\.1:\d+\): refused/);
    expect(elsewhere.statusCalls).toBe(0);
    expect(elsewhere.imports).toEqual([]);
    expect(seen.map((s) => s.path)).toEqual(["/api/status"]);
  });

  it("follows a redirect within Kibana's own origin with the same method and body", async () => {
    const fake = await startFakeKibana();
    const front = createServer();
    // A front on one origin that forwards to the fake through same-origin redirects: it proxies.
    front.on("request", async (req, res) => {
      if (req.url?.startsWith("/moved")) {
        const body = await readBody(req);
        const upstream = await fetch(`${fake.url}${req.url.slice("/moved".length)}`, {
          method: req.method,
          headers: req.headers as Record<string, string>,
          ...(body.length > 0 ? { body } : {}),
        });
        res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "" });
        res.end(Buffer.from(await upstream.arrayBuffer()));
        return;
      }
      res.writeHead(307, { location: `/moved${req.url}` });
      res.end();
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    servers.push(front);
    const result = await importSavedObjects({
      url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
      ndjson,
      timeoutMs: 5_000,
      pollMs: 20,
    });
    expect(fake.rejections).toEqual([]);
    expect(fake.imports).toHaveLength(1);
    expect(fake.imports[0]?.file).toBe(ndjson);
    expect(result.success).toBe(true);
  });

  it("warns before sending credentials over plain http to a host that is not this machine", () => {
    const auth = { username: "elastic", password: "pw" } as const;
    expect(plainHttpWarning("http://kibana.example.com:5601", auth)).toMatch(
      /^warning: sending Kibana credentials over plain http to kibana\.example\.com:5601/,
    );
    expect(plainHttpWarning("http://10.1.2.3:5601", { apiKey: "k" })).toContain("plain http");
    expect(plainHttpWarning("https://kibana.example.com", auth)).toBeUndefined();
    expect(plainHttpWarning("http://kibana.example.com", undefined)).toBeUndefined();
    for (const host of ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"])
      expect(plainHttpWarning(`http://${host}:5601`, auth)).toBeUndefined();
  });
});
