import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { connect } from "node:net";
import type { Config } from "../core/config/index.ts";
import { KafkaAdmin, kafkaOptions, reasonOf } from "../core/kafka/index.ts";
import { hostPort, type ServiceName } from "./render.ts";

/**
 * One real request per service: a service is "up" only when it answers the way a client needs
 * (not merely when its port is open). Each probe resolves with a short detail or rejects with
 * the reason.
 */

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function httpGet(
  url: string,
  options: { headers?: Record<string, string>; ca?: Buffer; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const lib = parsed.protocol === "https:" ? https : http;
    const request = lib.get(
      parsed,
      {
        headers: options.headers,
        timeout: options.timeoutMs ?? 3_000,
        ...(options.ca ? { ca: options.ca } : {}),
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          if (body.length < 65_536) body += chunk;
        });
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
        response.on("error", reject);
      },
    );
    request.on("timeout", () =>
      request.destroy(new Error(`no answer within ${options.timeoutMs ?? 3_000}ms`)),
    );
    request.on("error", reject);
  });
}

function elasticsearchHeaders(config: Config): Record<string, string> {
  const es = config.elasticsearch;
  if (es.apiKey) return { authorization: `ApiKey ${es.apiKey}` };
  if (es.username && es.password)
    return { authorization: `Basic ${Buffer.from(`${es.username}:${es.password}`).toString("base64")}` };
  return {};
}

async function probeElasticsearch(config: Config): Promise<string> {
  const ca = config.elasticsearch.caCertPath ? readFileSync(config.elasticsearch.caCertPath) : undefined;
  // The minimal distribution serves no `GET /`; the cluster health is a real request any client makes.
  const answer = await httpGet(new URL("/_cluster/health", config.elasticsearch.url).toString(), {
    headers: elasticsearchHeaders(config),
    ...(ca ? { ca } : {}),
  });
  if (answer.status !== 200) throw new Error(`GET /_cluster/health answered HTTP ${answer.status}`);
  const product = answer.headers["x-elastic-product"];
  if (product !== "Elasticsearch")
    throw new Error(`no "X-Elastic-Product: Elasticsearch" header (got ${JSON.stringify(product)})`);
  const health = JSON.parse(answer.body) as { status?: string };
  if (health.status !== "green" && health.status !== "yellow")
    throw new Error(`cluster health is ${health.status ?? "unknown"}`);
  return `cluster ${health.status}`;
}

async function probeMinio(config: Config): Promise<string> {
  const answer = await httpGet(new URL("/minio/health/live", config.minio.endpoint).toString());
  if (answer.status !== 200) throw new Error(`GET /minio/health/live answered HTTP ${answer.status}`);
  return "live";
}

async function probeHdfs(config: Config): Promise<string> {
  const base = config.hdfs.webhdfsUrl.replace(/\/$/, "");
  const status = await httpGet(
    `${base}/webhdfs/v1/?op=GETFILESTATUS&user.name=${encodeURIComponent(config.hdfs.user)}`,
  );
  if (status.status !== 200) throw new Error(`WebHDFS GETFILESTATUS / answered HTTP ${status.status}`);
  // The NameNode answers before its DataNode has registered and reported its blocks; until then
  // writes fail and existing files cannot be read ("No active nodes contain this block").
  const jmx = await httpGet(`${base}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo`);
  if (jmx.status !== 200) throw new Error(`NameNode /jmx answered HTTP ${jmx.status}`);
  return hdfsReadiness(JSON.parse(jmx.body));
}

/** Reads the NameNodeInfo bean: ready with a live DataNode, out of safe mode, all blocks reported. */
export function hdfsReadiness(jmx: unknown): string {
  const bean = (jmx as { beans?: { LiveNodes?: string; TotalBlocks?: number; Safemode?: string }[] })
    .beans?.[0];
  if (!bean) throw new Error("the NameNode published no NameNodeInfo");
  if (bean.Safemode) throw new Error(`NameNode is in safe mode: ${bean.Safemode}`);
  const live = Object.values(JSON.parse(bean.LiveNodes ?? "{}") as Record<string, { numBlocks?: number }>);
  if (live.length === 0) throw new Error("no live DataNode yet");
  const reported = live.reduce((sum, node) => sum + (node.numBlocks ?? 0), 0);
  const total = bean.TotalBlocks ?? 0;
  if (reported < total) throw new Error(`DataNodes have reported ${reported} of ${total} blocks`);
  return `${live.length} DataNode${live.length === 1 ? "" : "s"} live`;
}

function probeRedis(config: Config, timeoutMs = 3_000): Promise<string> {
  const url = new URL(config.redis.url);
  const { host, port } = hostPort(config.redis.url, 6379);
  const password = decodeURIComponent(url.password);
  const user = decodeURIComponent(url.username);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = "";
    const done = (error?: Error) => {
      socket.destroy();
      if (error) reject(error);
      else resolve("PONG");
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no answer within ${timeoutMs}ms`)));
    socket.on("error", (error) => done(error));
    // Something else on the port may hang up without a word: that is an answer too (not Redis).
    socket.on("close", () => done(new Error("the connection was closed before Redis answered PONG")));
    socket.on("connect", () => {
      const command = (...parts: string[]) =>
        `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join("")}`;
      const auth = password ? (user ? command("AUTH", user, password) : command("AUTH", password)) : "";
      socket.write(`${auth}${command("PING")}`);
    });
    socket.on("data", (chunk) => {
      received += chunk.toString();
      if (received.includes("+PONG\r\n")) done();
      else if (received.startsWith("-")) done(new Error(`Redis answered ${received.split("\r\n")[0]}`));
    });
  });
}

async function probeKafka(config: Config): Promise<string> {
  // A failed probe is expected while a broker starts; its reason is reported by the caller.
  const admin = new KafkaAdmin(
    kafkaOptions(config, {
      clientId: "capline-stack-probe",
      socketTimeoutMs: 2_000,
      requestTimeoutMs: 5_000,
      retries: 0,
    }),
  );
  try {
    const cluster = await admin.describeCluster().catch((error: unknown) => {
      // The bare reason: the caller names the service itself.
      const reason = reasonOf((error as { cause?: unknown }).cause ?? error);
      throw Object.assign(new Error(reason, { cause: error }), {
        ...(/ECONNREFUSED/.test(reason) ? { code: "ECONNREFUSED" } : {}),
      });
    });
    if (cluster.brokers.length === 0) throw new Error("metadata lists no broker");
    if (cluster.controller === undefined) throw new Error("no active controller");
    return `${cluster.brokers.length} broker${cluster.brokers.length === 1 ? "" : "s"}`;
  } finally {
    await admin.close();
  }
}

export const PROBES: Record<ServiceName, (config: Config) => Promise<string>> = {
  kafka: probeKafka,
  elasticsearch: probeElasticsearch,
  minio: probeMinio,
  hdfs: probeHdfs,
  redis: probeRedis,
};

export type ProbeResult = { ok: true; detail: string } | { ok: false; reason: string };

/** Runs a service's probe once, never throwing. */
export async function probe(config: Config, name: ServiceName): Promise<ProbeResult> {
  try {
    return { ok: true, detail: await PROBES[name](config) };
  } catch (error) {
    const reason =
      error instanceof Error
        ? ((error as NodeJS.ErrnoException).code ?? "") === "ECONNREFUSED"
          ? "connection refused"
          : error.message
        : String(error);
    return { ok: false, reason };
  }
}
