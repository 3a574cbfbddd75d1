import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createElasticsearch } from "../core/clients/elasticsearch.ts";
import { testConfig, uniqueName } from "../test/support/index.ts";
import { ensureStackUp, SERVICE_NAMES, serviceStatus, startService, stopService } from "./index.ts";
import { probe } from "./probes.ts";

const config = testConfig();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** One HTTP request without redirects followed, so a test can inspect them. */
function request(
  method: string,
  url: string,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("the running stack (issue 2 acceptance checks, as real requests)", () => {
  it("reports every service up", async () => {
    const states = await serviceStatus(config);
    expect(states.map((s) => s.name)).toEqual([...SERVICE_NAMES]);
    for (const s of states)
      expect({ name: s.name, state: s.state }).toEqual({
        name: s.name,
        state: expect.stringMatching(/^(up|external)$/),
      });
  });

  it("Elasticsearch answers as Elasticsearch, and the official 8.x client accepts it", async () => {
    const res = await fetch(new URL("/_cluster/health", config.elasticsearch.url));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-elastic-product")).toBe("Elasticsearch");
    const health = (await res.json()) as { status: string; number_of_nodes: number };
    expect(["green", "yellow"]).toContain(health.status);
    const client = createElasticsearch(config);
    try {
      // The client's product check runs on this first request and throws if the header is missing.
      const viaClient = await client.cluster.health();
      expect(viaClient.number_of_nodes).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });

  it("MinIO is live", async () => {
    const res = await fetch(new URL("/minio/health/live", config.minio.endpoint));
    expect(res.status).toBe(200);
  });

  it("WebHDFS describes / and round-trips a file through the DataNode redirect", async () => {
    const base = `${config.hdfs.webhdfsUrl.replace(/\/$/, "")}/webhdfs/v1`;
    const user = `user.name=${config.hdfs.user}`;
    const root = await request("GET", `${base}/?op=GETFILESTATUS&${user}`);
    expect(root.status).toBe(200);
    expect((JSON.parse(root.body) as { FileStatus: { type: string } }).FileStatus.type).toBe("DIRECTORY");

    const path = `/tmp/${uniqueName("stack-test")}.txt`;
    const text = `capline ${path}\n`;
    try {
      const create = await request("PUT", `${base}${path}?op=CREATE&overwrite=true&${user}`);
      expect(create.status).toBe(307);
      const location = new URL(create.headers.location ?? "");
      // Clients here are sent to a DataNode address they can reach.
      const expected = new URL(config.hdfs.datanodeUrl ?? "http://127.0.0.1:9864");
      expect(location.host).toBe(expected.host);
      const written = await request("PUT", location.toString(), text);
      expect(written.status).toBe(201);
      const open = await request("GET", `${base}${path}?op=OPEN&${user}`);
      expect(open.status).toBe(307);
      const read = await request("GET", open.headers.location ?? "");
      expect(read.body).toBe(text);
    } finally {
      await request("DELETE", `${base}${path}?op=DELETE&${user}`);
    }
  });

  it("Redis answers PING and never evicts BullMQ's keys", async () => {
    const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe("PONG");
      const [, policy] = (await redis.config("GET", "maxmemory-policy")) as [string, string];
      expect(policy).toBe("noeviction");
    } finally {
      redis.disconnect();
    }
  });

  it("Kafka gives its metadata to an independent client (kcat)", async () => {
    const broker = config.kafka.brokers[0] ?? "";
    const { stdout } = await promisify(execFile)("kcat", ["-b", broker, "-L", "-J", "-m", "10"]);
    const metadata = JSON.parse(stdout) as { brokers: { id: number; name: string }[] };
    expect(metadata.brokers.length).toBeGreaterThanOrEqual(1);
    expect(metadata.brokers.map((b) => b.name)).toContain(broker);
  });
});

describe("starting and stopping single services", () => {
  // A private copy of Redis and MinIO (own ports, own state folder, shared artifact cache): the
  // shared services other tests use are never interrupted.
  const stateDir = mkdtempSync(join(tmpdir(), "capline-stack-test-"));
  afterAll(async () => {
    const own = testConfig({ CAPLINE_STACK_DIR: stateDir });
    await Promise.all([stopService(own, "redis", 5_000), stopService(own, "minio", 5_000)]);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("stops and starts Redis for real, keeping its data", async () => {
    const port = await freePort();
    const own = testConfig({ CAPLINE_STACK_DIR: stateDir, REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(await probe(own, "redis")).toMatchObject({ ok: false });

    const started = await startService(own, "redis");
    expect(started).toMatchObject({ name: "redis", state: "up", how: "started" });
    expect(started.pid).toBeGreaterThan(0);
    const redis = new Redis(own.redis.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    await redis.connect();
    const key = uniqueName("stack-key");
    await redis.set(key, "kept");
    redis.disconnect();

    expect(await stopService(own, "redis")).toBe("stopped");
    expect(await probe(own, "redis")).toEqual({ ok: false, reason: "connection refused" });
    const [state] = await serviceStatus(own, ["redis"]);
    expect(state?.state).toBe("down");

    const again = await startService(own, "redis");
    expect(again.how).toBe("started");
    expect(again.pid).not.toBe(started.pid);
    const reconnected = new Redis(own.redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await reconnected.connect();
    // appendonly: what was written before the stop is still there.
    expect(await reconnected.get(key)).toBe("kept");
    reconnected.disconnect();
    expect(await stopService(own, "redis")).toBe("stopped");
  });

  it("stops and starts MinIO for real", async () => {
    const [api, consolePort] = [await freePort(), await freePort()];
    const own = testConfig({
      CAPLINE_STACK_DIR: stateDir,
      MINIO_ENDPOINT: `http://127.0.0.1:${api}`,
      MINIO_CONSOLE_URL: `http://127.0.0.1:${consolePort}`,
    });
    const started = await startService(own, "minio");
    expect(started).toMatchObject({ state: "up", how: "started" });
    expect((await fetch(`http://127.0.0.1:${api}/minio/health/live`)).status).toBe(200);
    expect(await stopService(own, "minio")).toBe("stopped");
    await expect(fetch(`http://127.0.0.1:${api}/minio/health/live`)).rejects.toThrow();
    expect((await startService(own, "minio")).state).toBe("up");
    expect((await fetch(`http://127.0.0.1:${api}/minio/health/live`)).status).toBe(200);
  });

  it("names a service that fails to start, with the end of its log", async () => {
    // A port held by a program that accepts connections but never answers like Redis.
    // (resume: read and drop what probes send, so their sockets close and `close()` can finish)
    const squatter = createServer((socket) => socket.on("error", () => undefined).resume());
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const address = squatter.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const own = testConfig({ CAPLINE_STACK_DIR: stateDir, REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      const failure = await ensureStackUp(own, { services: ["redis"], docker: false }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      const message = (failure as Error).message;
      expect(message).toContain("failed to start: redis");
      expect(message).toContain(`redis://127.0.0.1:${port}`);
      // The tail of the server's own log says why.
      expect(message).toMatch(/Address already in use/);
      expect((failure as { code?: string }).code).toBe("STACK_FAILED");
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("never stops a service it did not start", async () => {
    // The shared Kafka answers at the configured address, but this state folder did not start it.
    const own = testConfig({ CAPLINE_STACK_DIR: stateDir });
    expect(await stopService(own, "kafka")).toBe("external");
    expect(await probe(own, "kafka")).toMatchObject({ ok: true });
  });
});
