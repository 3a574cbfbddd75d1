import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { createElasticsearch } from "../../core/clients/elasticsearch.ts";
import { createMinio } from "../../core/clients/minio.ts";
import { createRedis } from "../../core/clients/redis.ts";
import { createWebHdfs } from "../../core/clients/webhdfs.ts";
import { type Config, loadConfig } from "../../core/config/index.ts";
import { KafkaAdmin, type KafkaOptions, kafkaOptions } from "../../core/kafka/index.ts";
import { aliasName, cutsPattern, dispatcherGroupOf } from "../../core/names.ts";
import type { CaplineEvent } from "../../core/schema/events.ts";
import { configuredIndexSettings, ensureIndices } from "../../setup/elasticsearch.ts";
import { deleteQueueKeys } from "../../setup/redis.ts";
import { isolatedNames } from "../../test/support/index.ts";
import type { ProfileDocument } from "../profiles.ts";
import { referenceProfiles } from "./events.ts";
import { PROSPECT, referenceRfm } from "./rfm.ts";
import { allDocuments, deleteTestIndices, hdfsTree, minioFiles, readParquetFiles } from "./stores.ts";
import { verifyIndexedDocuments } from "./verify.ts";

/**
 * An isolated pipeline for one integration test: its own topic, consumer group, queue prefix,
 * index prefix, bucket and HDFS root (all named with a random UUID), the environment to run
 * `capline process` children against them, checks against the independent reference, and cleanup.
 */

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "capline.mjs");

export class Pipeline {
  readonly id = randomUUID().slice(0, 13);
  readonly name = `ptest-${this.id}`;
  readonly env: Record<string, string>;
  readonly config: Config;
  readonly es;
  readonly minio;
  readonly hdfs;
  readonly kafka: KafkaOptions;
  readonly children = new Set<ChildProcess>();
  /** Where the children's output goes (kept after the test, for post-mortems). */
  readonly logFile = join(tmpdir(), `${this.name}.log`);

  /** `env`: more settings of this pipeline, e.g. REDIS_URL of a private Redis. */
  constructor(options: { hdfs: boolean; env?: Record<string, string> }) {
    this.env = {
      ...isolatedNames(this.name),
      ARCHIVE_MINIO: "true",
      ARCHIVE_HDFS: String(options.hdfs),
      LOG_LEVEL: "warn",
      ...options.env,
    };
    this.config = loadConfig({ env: { ...process.env, ...this.env } });
    this.es = createElasticsearch(this.config);
    this.minio = createMinio(this.config);
    this.hdfs = createWebHdfs(this.config);
    this.kafka = kafkaOptions(this.config);
  }

  async setup(): Promise<void> {
    await ensureIndices(this.es, this.name, configuredIndexSettings(this.config));
    await this.minio.makeBucket(this.name, this.config.minio.region);
    if (this.config.archive.hdfs) await this.hdfs.mkdirs(`/${this.name}`);
  }

  /**
   * Starts `capline process ...args` as a child process against this pipeline; with `terminal`,
   * under `script`, so the command runs on a pseudo-terminal (stdout and stderr both arrive on
   * stdout, as a user at a terminal sees them).
   */
  spawn(args: string[], env: Record<string, string> = {}, terminal = false): ChildProcess {
    const argv = [process.execPath, BIN, "process", ...args];
    const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const [command, commandArgs] = terminal
      ? ["script", ["-qec", quoted, "/dev/null"]]
      : [argv[0] ?? "", argv.slice(1)];
    const child = spawn(command, commandArgs, {
      env: { ...process.env, ...this.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.children.add(child);
    child.on("exit", () => this.children.delete(child));
    // Drain the output into a log file: a full pipe would block the child (pino writes synchronously).
    const log = createWriteStream(this.logFile, { flags: "a" });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    return child;
  }

  /** Runs a child to its end: exit code and stdout. */
  /**
   * Makes the next run start from offset 0 with no memory of earlier cuts: the dispatcher group's
   * offsets go back to the earliest, and the cut registry is emptied (a full replay).
   */
  async forgetProgress(): Promise<void> {
    const admin = new KafkaAdmin(this.kafka);
    await admin.resetGroupToEarliest(dispatcherGroupOf(this.name), this.name).finally(() => admin.close());
    const redis = createRedis(this.config);
    const cuts = await redis.keys(cutsPattern(this.name, this.name));
    if (cuts.length > 0) await redis.del(...cuts);
    redis.disconnect();
  }

  /** Waits until a member of this pipeline's dispatcher group is attached (a `process` child has started). */
  async waitForDispatcher(timeoutMs: number): Promise<void> {
    await this.waitForGroup(timeoutMs, "no dispatcher joined", async (admin, group) => {
      return ((await admin.describeGroups([group]))[0]?.members ?? 0) > 0;
    });
  }

  /** Waits until the dispatcher has committed offsets of the topic (a first range is through). */
  async waitForCommits(timeoutMs: number): Promise<void> {
    await this.waitForGroup(timeoutMs, "nothing committed by", async (admin, group) => {
      const committed = await admin.committedOffsets(group, this.name);
      return [...committed.values()].some((offset) => offset > 0);
    });
  }

  /** Polls the dispatcher's consumer group every 100 ms until `ready`, for at most `timeoutMs`. */
  private async waitForGroup(
    timeoutMs: number,
    failure: string,
    ready: (admin: KafkaAdmin, group: string) => Promise<boolean>,
  ): Promise<void> {
    const admin = new KafkaAdmin(this.kafka);
    const group = dispatcherGroupOf(this.name);
    try {
      const deadline = Date.now() + timeoutMs;
      while (!(await ready(admin, group))) {
        if (Date.now() > deadline) throw new Error(`${failure} ${group} in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await admin.close();
    }
  }

  async run(
    args: string[],
    timeoutMs = 240_000,
    terminal = false,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = this.spawn(args, {}, terminal);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr?.on("data", (d) => {
      stderr += String(d);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    clearTimeout(timer);
    return { code, stdout, stderr };
  }

  /** Every profile, daily and hourly aggregate, and the Parquet rows in each store, against the reference. */
  async verify(events: readonly CaplineEvent[]): Promise<void> {
    await verifyIndexedDocuments(this.es, this.name, events);
    const stores = [await minioFiles(this.minio, this.name)];
    if (this.config.archive.hdfs) {
      const tree = await hdfsTree(this.hdfs, `/${this.name}`);
      stores.push(tree.visible);
      // A worker killed between writing the temporary file and renaming it leaves a hidden
      // `.name.tmp-<uuid>` that readers skip (and the sink sweeps after 10 minutes); nothing else.
      for (const name of tree.hidden) expect(name).toMatch(/\/\.[^/]+\.parquet\.tmp-[0-9a-f-]{36}$/);
    }
    const perDay = new Map<string, number>();
    for (const e of events)
      perDay.set(e.event_time.slice(0, 10), (perDay.get(e.event_time.slice(0, 10)) ?? 0) + 1);
    for (const files of stores) {
      const rows = await readParquetFiles(files);
      const ids = new Set(rows.map((r) => r.event_id));
      if (rows.length !== events.length) {
        // Say which files hold a row twice: the first thing anyone debugging this needs.
        const where = new Map<string, string[]>();
        for (const r of rows)
          where.set(r.event_id, [...(where.get(r.event_id) ?? []), `${r.file}@${r.kafka_offset}`]);
        const twice = [...where.values()].filter((w) => w.length > 1).slice(0, 5);
        const fileNames = [...files.keys()].sort();
        expect.soft({ store: stores.indexOf(files), twice, files: fileNames.length }).toBeNull();
        console.error(JSON.stringify({ twice, fileNames }, null, 1));
      }
      expect(rows.length).toBe(events.length);
      expect(ids.size).toBe(events.length);
      const days = new Map<string, number>();
      for (const r of rows) days.set(r.dt, (days.get(r.dt) ?? 0) + 1);
      expect(days).toEqual(perDay);
    }
  }

  /** RFM fields of every profile against the tests' independent scoring (./rfm.ts). */
  async verifyRfm(events: readonly CaplineEvent[]): Promise<void> {
    const profiles = await allDocuments<ProfileDocument>(this.es, aliasName(this.name, "profiles"));
    const ref = referenceProfiles(events);
    const asOf = Math.max(...events.map((e) => Date.parse(e.event_time)));
    const scores = referenceRfm(
      [...ref]
        .filter(([, p]) => p.purchases > 0)
        .map(([user, p]) => ({
          user,
          lastPurchaseMs: Date.parse(p.last_purchase_at ?? ""),
          purchases: p.purchases,
          cents: Math.round(p.total_spent * 100),
        })),
      asOf,
    );
    for (const [user, p] of ref) {
      const doc = profiles.get(user);
      if (p.purchases === 0) {
        expect(doc?.segment, user).toBe(PROSPECT);
        continue;
      }
      expect(
        { recency_days: doc?.recency_days, r: doc?.r, f: doc?.f, m: doc?.m, segment: doc?.segment },
        user,
      ).toEqual(scores.get(user));
    }
  }

  async cleanup(): Promise<void> {
    for (const child of this.children) child.kill("SIGKILL");
    await deleteTestIndices(this.es, this.name).catch(() => undefined);
    await this.es.close();
    const files = await minioFiles(this.minio, this.name, "").catch(() => new Map<string, Buffer>());
    if (files.size > 0) await this.minio.removeObjects(this.name, [...files.keys()]).catch(() => undefined);
    await this.minio.removeBucket(this.name).catch(() => undefined);
    await this.hdfs.delete(`/${this.name}`, { recursive: true }).catch(() => undefined);
    const redis = createRedis(this.config);
    await deleteQueueKeys(redis, this.name).catch(() => undefined);
    redis.disconnect();
    const admin = new KafkaAdmin(this.kafka);
    await admin.deleteGroups([dispatcherGroupOf(this.name)]).catch(() => undefined);
    const topics = (await admin.listTopics().catch(() => [])).filter(
      (t) => t === this.name || t === `${this.name}.dlq`,
    );
    await admin.deleteTopics(topics).catch(() => undefined);
    await admin.close();
  }
}
