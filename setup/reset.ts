import type { Config } from "../core/config/index.ts";
import {
  checkpointTopicOf,
  consumerGroups,
  indexPattern,
  ingestIdPrefix,
  queueKeysPattern,
} from "../core/names.ts";
import {
  configuredIndexSettings,
  countDocuments,
  dataIndices,
  ensureIndices,
  type IndexSettings,
} from "./elasticsearch.ts";
import { countHdfs, emptyHdfsRoot } from "./hdfs.ts";
import {
  activeGroupsError,
  countMessages,
  deleteGroups,
  describeGroups,
  describeTopic,
  recreateTopic,
} from "./kafka.ts";
import { emptyBucket, listObjectNames } from "./minio.ts";
import { partitionsText } from "./names.ts";
import { deleteQueueKeys, queueKeys } from "./redis.ts";
import { type SetupItem, type Store, table } from "./report.ts";
import { withService } from "./service-errors.ts";
import type { Services } from "./services.ts";

/** What reset empties; tests pass their own random names. */
export interface ResetTargets {
  /** Emptied when they exist (events, DLQ, ingest checkpoints); a missing one is skipped. */
  topics: string[];
  /** Consumer groups whose committed offsets are deleted. */
  groups: string[];
  /**
   * Groups named with these prefixes are deleted too: the ingester's per-file checkpoint groups,
   * whose "done" would otherwise refuse a file after reset emptied the topics.
   */
  groupPrefixes: string[];
  indexPrefix: string;
  indexSettings: IndexSettings;
  bucket: string;
  hdfsRoot: string;
  /** Every Redis key under `<queuePrefix>:` goes (BullMQ queues, jobs, locks). */
  queuePrefix: string;
}

export function resetTargets(config: Config): ResetTargets {
  return {
    topics: [config.kafka.topic, config.kafka.dlqTopic, checkpointTopicOf(config.kafka.topic)],
    groups: consumerGroups(config.kafka.clientId),
    groupPrefixes: [ingestIdPrefix(config.kafka.topic)],
    indexPrefix: config.elasticsearch.indexPrefix,
    indexSettings: configuredIndexSettings(config),
    bucket: config.minio.bucket,
    hdfsRoot: config.hdfs.root,
    queuePrefix: config.redis.queuePrefix,
  };
}

export type StepKind = "topic" | "consumer-group" | "indices" | "index" | "objects" | "hdfs" | "redis-keys";

export interface ResetStep {
  store: Store;
  kind: StepKind;
  name: string;
  /** False: nothing there, the step is skipped. */
  present: boolean;
  /** What would go (messages, documents, objects, files, keys); undefined where counting is not cheap. */
  count: number | undefined;
  unit: string;
  /** What reset does with it. */
  action: string;
}

export interface ResetPlan {
  steps: ResetStep[];
  /** Total of the counts: 0 means there is no data to lose. */
  total: number;
}

export interface ResetResult {
  steps: (ResetStep & { done: boolean })[];
  /** The Elasticsearch items recreated by the setup logic after the indices were deleted. */
  recreated: SetupItem[];
}

/**
 * Looks at every store and lists what reset would delete, with counts. It touches every service,
 * so a service that is down is named here, before anything is deleted; consumer groups with
 * consumers attached are refused here too (CONFLICT), for the same reason.
 */
export async function planReset(services: Services, targets: ResetTargets): Promise<ResetPlan> {
  const { urls } = services;
  const steps: ResetStep[] = [];
  const admin = await services.admin();

  await withService("Kafka", urls.kafka, "describe consumer groups and topics", async () => {
    const listed = (await admin.listGroups()).groups.map((g) => g.groupId);
    const perFile = listed
      .filter((id) => targets.groupPrefixes.some((prefix) => id.startsWith(prefix)))
      .sort();
    const groups = await describeGroups(admin, [...targets.groups, ...perFile]);
    const active = groups.filter((g) => g.members > 0);
    if (active.length) throw activeGroupsError(active, true);
    for (const g of groups)
      steps.push({
        store: "Kafka",
        kind: "consumer-group",
        name: g.groupId,
        present: g.state !== "Dead",
        count: undefined,
        unit: "",
        action: "delete the group and its committed offsets",
      });
    for (const topic of targets.topics) {
      const state = await describeTopic(admin, topic);
      steps.push({
        store: "Kafka",
        kind: "topic",
        name: topic,
        present: state !== undefined,
        count: state ? await countMessages(admin, topic) : 0,
        unit: "messages",
        action: state
          ? `delete and recreate empty (${partitionsText(state.partitions)}, same settings)`
          : "absent, skipped",
      });
    }
  });

  await withService("Elasticsearch", urls.elasticsearch, "count documents", async () => {
    const indices = await dataIndices(services.es, targets.indexPrefix);
    for (const index of indices)
      steps.push({
        store: "Elasticsearch",
        kind: "index",
        name: index,
        present: true,
        count: await countDocuments(services.es, index),
        unit: "documents",
        action: "delete",
      });
    steps.push({
      store: "Elasticsearch",
      kind: "indices",
      name: indexPattern(targets.indexPrefix),
      present: true,
      count: undefined,
      unit: "",
      action: "recreate every index and alias empty (the setup logic)",
    });
  });

  await withService("MinIO", urls.minio, `list bucket ${targets.bucket}`, async () => {
    const exists = await services.minio.bucketExists(targets.bucket);
    steps.push({
      store: "MinIO",
      kind: "objects",
      name: targets.bucket,
      present: exists,
      count: exists ? (await listObjectNames(services.minio, targets.bucket)).length : 0,
      unit: "objects",
      action: exists ? "delete every object (the bucket stays)" : "absent, skipped",
    });
  });

  const hdfs = await countHdfs(services.hdfs, targets.hdfsRoot);
  steps.push({
    store: "HDFS",
    kind: "hdfs",
    name: targets.hdfsRoot,
    present: hdfs.exists,
    count: hdfs.files,
    unit: `files (${hdfs.folders} folders)`,
    action: hdfs.exists ? "delete everything below it (the folder stays)" : "absent, skipped",
  });

  const redis = await services.redis();
  await withService("Redis", urls.redis, "scan queue keys", async () => {
    const keys = await queueKeys(redis, targets.queuePrefix);
    steps.push({
      store: "Redis",
      kind: "redis-keys",
      name: queueKeysPattern(targets.queuePrefix),
      present: keys.length > 0,
      count: keys.length,
      unit: "keys",
      action: "delete (BullMQ queues, jobs, locks)",
    });
  });

  return { steps, total: steps.reduce((sum, s) => sum + (s.count ?? 0), 0) };
}

/** Deletes what the plan lists, store by store, and recreates the indices empty. */
export async function executeReset(
  services: Services,
  targets: ResetTargets,
  plan: ResetPlan,
): Promise<ResetResult> {
  const { urls } = services;
  const done = new Set<ResetStep>();
  const admin = await services.admin();
  const of = (kind: StepKind) => plan.steps.filter((s) => s.kind === kind && s.present);

  await withService("Kafka", urls.kafka, "delete consumer groups and recreate topics", async () => {
    const groups = of("consumer-group");
    await deleteGroups(
      admin,
      groups.map((g) => g.name),
    );
    for (const g of groups) done.add(g);
    for (const step of of("topic")) {
      await recreateTopic(admin, step.name);
      done.add(step);
    }
  });

  const recreated = await withService(
    "Elasticsearch",
    urls.elasticsearch,
    "delete and recreate indices",
    async () => {
      const indices = of("index");
      if (indices.length) await services.es.indices.delete({ index: indices.map((s) => s.name).join(",") });
      for (const s of indices) done.add(s);
      const items = await ensureIndices(services.es, targets.indexPrefix, targets.indexSettings);
      for (const s of of("indices")) done.add(s);
      return items.filter((i) => i.kind !== "index-template");
    },
  );

  await withService("MinIO", urls.minio, `empty bucket ${targets.bucket}`, async () => {
    for (const step of of("objects")) {
      await emptyBucket(services.minio, step.name);
      done.add(step);
    }
  });

  for (const step of of("hdfs")) {
    await emptyHdfsRoot(services.hdfs, step.name);
    done.add(step);
  }

  const redis = await services.redis();
  await withService("Redis", urls.redis, "delete queue keys", async () => {
    await deleteQueueKeys(redis, targets.queuePrefix);
    for (const s of plan.steps.filter((x) => x.kind === "redis-keys")) done.add(s);
  });

  return { steps: plan.steps.map((s) => ({ ...s, done: done.has(s) || !s.present })), recreated };
}

function amount(step: ResetStep): string {
  if (!step.present) return "-";
  return step.count === undefined ? "" : `${step.count} ${step.unit}`.trim();
}

/** The plan for people: one line per store item, what it holds and what happens to it. */
export function renderPlan(plan: ResetPlan, dryRun: boolean): string {
  const head = dryRun
    ? "capline reset --dry-run: nothing is deleted. Would delete:"
    : "capline reset will delete:";
  const rows = plan.steps.map((s) => [s.store, s.kind, s.name, amount(s), s.action]);
  const tail = dryRun
    ? "Run `capline reset --yes` to delete this."
    : plan.total === 0
      ? "There is no pipeline data; reset only recreates the empty structures."
      : `${plan.total} messages, documents, objects, files and keys in all.`;
  return [head, ...table(rows).map((l) => `  ${l}`), "", tail].join("\n");
}

/** The result for people. */
export function renderResetResult(result: ResetResult): string {
  const rows = result.steps
    .filter((s) => s.present)
    .map((s) => [s.done ? "deleted" : "NOT DONE", s.store, s.kind, s.name, amount(s)]);
  const recreated = result.recreated.filter((i) => i.status === "created").length;
  const differs = result.recreated.filter((i) => i.status === "differs");
  const lines = [...table(rows).map((l) => `  ${l}`), ""];
  lines.push(`Recreated ${recreated} empty Elasticsearch index/alias item(s).`);
  for (const d of differs) lines.push(`  ! ${d.kind} ${d.name}: ${d.differences.join("; ")}`);
  lines.push("Reset done: the pipeline can start over.");
  return lines.join("\n");
}
