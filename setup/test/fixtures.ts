import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Client } from "@elastic/elasticsearch";
import type { Config, ConfigVariable } from "../../core/config/index.ts";
import { PROJECT_ROOT } from "../../core/config/index.ts";
import { dispatcherGroupOf } from "../../core/names.ts";
import { INDEX_NAMES } from "../../core/schema/indices.ts";
import { isolatedNames, testConfig, uniqueName } from "../../test/support/index.ts";
import { listObjectNames } from "../minio.ts";
import { deleteQueueKeys } from "../redis.ts";
import { openServices, type Services } from "../services.ts";

/** Random names for every store, as configuration variables (the CLI reads the same). */
export function randomEnv(label: string): Partial<Record<ConfigVariable, string>> {
  const base = uniqueName(label);
  return { ...isolatedNames(base), KAFKA_PARTITIONS: "3" };
}

export function servicesFor(env: Partial<Record<ConfigVariable, string>>): Services {
  return openServices(testConfig(env));
}

/** Removes everything a test created under its names (topics, templates, indices, bucket, HDFS, keys). */
export async function removeAll(services: Services, config: Config): Promise<void> {
  const admin = await services.admin();
  const prefix = config.elasticsearch.indexPrefix;
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(config.kafka.topic));
  if (topics.length) await admin.deleteTopics(topics);
  await admin.deleteGroups([dispatcherGroupOf(config.kafka.clientId)]).catch(() => undefined);
  // Deleting by wildcard is refused (action.destructive_requires_name): list, then delete by name.
  const indices = Object.keys(
    await services.es.indices.get({ index: `${prefix}-*`, allow_no_indices: true }),
  );
  if (indices.length) await services.es.indices.delete({ index: indices.join(",") });
  for (const name of INDEX_NAMES)
    await services.es.indices.deleteIndexTemplate({ name: `${prefix}-${name}` }).catch(() => undefined);
  if (await services.minio.bucketExists(config.minio.bucket)) {
    const names = await listObjectNames(services.minio, config.minio.bucket);
    if (names.length) await services.minio.removeObjects(config.minio.bucket, names);
    await services.minio.removeBucket(config.minio.bucket);
  }
  await services.hdfs.delete(config.hdfs.root, { recursive: true });
  await deleteQueueKeys(await services.redis(), config.redis.queuePrefix);
}

export async function indexSnapshot(es: Client, prefix: string): Promise<unknown> {
  const indices = await es.indices.get({ index: `${prefix}-*`, flat_settings: true });
  const templates = await es.indices.getIndexTemplate({ name: `${prefix}-*` });
  return { indices, templates: templates.index_templates.sort((a, b) => a.name.localeCompare(b.name)) };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `capline <args>` in a child process with the given variables and no terminal. */
export function runCli(args: string[], env: Partial<Record<ConfigVariable, string>>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, "bin", "capline.mjs"), ...args], {
      env: { ...process.env, ...env, LOG_LEVEL: "warn" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end();
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs `capline <args>` on a pseudo-terminal (util-linux `script`), typing `input`: what a person
 * at a terminal sees and answers.
 */
export function runCliOnTerminal(
  args: string[],
  env: Partial<Record<ConfigVariable, string>>,
  input: string,
): Promise<CliRun> {
  const command = [process.execPath, join(PROJECT_ROOT, "bin", "capline.mjs"), ...args]
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
    .join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { ...process.env, ...env, LOG_LEVEL: "warn" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
