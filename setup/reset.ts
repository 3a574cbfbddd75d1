import type { Config } from "../core/config/index.ts";
import {
  checkpointTopicOf,
  consumerGroups,
  dlqReplayTopicOf,
  indexPattern,
  ingestIdPrefix,
  queueKeysPattern,
} from "../core/names.ts";
import {
  allVersionIndices,
  configuredIndexSettings,
  countDocuments,
  dataIndices,
  ensureIndices,
  existingTemplates,
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
    topics: [
      config.kafka.topic,
      config.kafka.dlqTopic,
      checkpointTopicOf(config.kafka.topic),
      dlqReplayTopicOf(config.kafka.topic),
    ],
    groups: consumerGroups(config.kafka.clientId),
    groupPrefixes: [ingestIdPrefix(config.kafka.topic)],
    indexPrefix: config.elasticsearch.indexPrefix,
    indexSettings: configuredIndexSettings(config),
    bucket: config.minio.bucket,
    hdfsRoot: config.hdfs.root,
    queuePrefix: config.redis.queuePrefix,
  };
}

export type StepKind =
  | "topic"
  | "consumer-group"
  | "indices"
  | "index"
  | "index-template"
  | "objects"
  | "bucket"
  | "hdfs"
  | "redis-keys";

export interface ResetOptions {
  /**
   * Tear the names down completely instead of recreating the empty structures: topics, indices
   * (every mapping version), aliases, index templates, the bucket and the HDFS root go too, and
   * nothing is recreated (`capline setup` makes them again). For an isolated name that is done.
   * @defaultValue false
   */
  drop?: boolean;
}

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
  /** `--drop`: everything goes and nothing is recreated. */
  drop: boolean;
  steps: ResetStep[];
  /** Total of the counts: 0 means there is no data to lose. */
  total: number;
}

export interface ResetResult {
  drop: boolean;
  steps: (ResetStep & { done: boolean })[];
  /** The Elasticsearch items recreated by the setup logic after the indices were deleted. */
  recreated: SetupItem[];
}

/**
 * Looks at every store and lists what reset would delete, with counts. It touches every service,
 * so a service that is down is named here, before anything is deleted; consumer groups with
 * consumers attached are refused here too (CONFLICT), for the same reason.
 */
export async function planReset(
  services: Services,
  targets: ResetTargets,
  options: ResetOptions = {},
): Promise<ResetPlan> {
  const drop = options.drop ?? false;
  const { urls } = services;
  const steps: ResetStep[] = [];
  const admin = await services.admin();

  await withService("Kafka", urls.kafka, "describe consumer groups and topics", async () => {
    const listed = await admin.listGroups();
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
        action: !state
          ? "absent, skipped"
          : drop
            ? "delete"
            : `delete and recreate empty (${partitionsText(state.partitions)}, same settings)`,
      });
    }
  });

  await withService("Elasticsearch", urls.elasticsearch, "count documents", async () => {
    const indices = drop
      ? await allVersionIndices(services.es, targets.indexPrefix)
      : await dataIndices(services.es, targets.indexPrefix);
    for (const index of indices)
      steps.push({
        store: "Elasticsearch",
        kind: "index",
        name: index,
        present: true,
        count: await countDocuments(services.es, index),
        unit: "documents",
        action: drop ? "delete, with its alias" : "delete",
      });
    if (drop) {
      for (const template of await existingTemplates(services.es, targets.indexPrefix))
        steps.push({
          store: "Elasticsearch",
          kind: "index-template",
          name: template,
          present: true,
          count: undefined,
          unit: "",
          action: "delete",
        });
    } else
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
      action: !exists
        ? "absent, skipped"
        : drop
          ? "delete every object"
          : "delete every object (the bucket stays)",
    });
    if (drop && exists)
      steps.push({
        store: "MinIO",
        kind: "bucket",
        name: targets.bucket,
        present: true,
        count: undefined,
        unit: "",
        action: "delete the bucket",
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
    action: !hdfs.exists
      ? "absent, skipped"
      : drop && targets.hdfsRoot !== "/"
        ? "delete the folder and everything below it"
        : "delete everything below it (the folder stays)",
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

  return { drop, steps, total: steps.reduce((sum, s) => sum + (s.count ?? 0), 0) };
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
    const topics = of("topic");
    if (plan.drop && topics.length > 0) {
      await admin.deleteTopics(
        topics.map((t) => t.name),
        60_000,
      );
      for (const t of topics) done.add(t);
    } else
      for (const step of topics) {
        await recreateTopic(admin, step.name);
        done.add(step);
      }
  });

  const recreated = await withService(
    "Elasticsearch",
    urls.elasticsearch,
    plan.drop ? "delete indices and templates" : "delete and recreate indices",
    async () => {
      const indices = of("index");
      if (indices.length) await services.es.indices.delete({ index: indices.map((s) => s.name).join(",") });
      for (const s of indices) done.add(s);
      if (plan.drop) {
        // After the indices: a template left behind would give a stray write a capline mapping.
        for (const step of of("index-template")) {
          await services.es.indices.deleteIndexTemplate({ name: step.name });
          done.add(step);
        }
        return [];
      }
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
    for (const step of of("bucket")) {
      await services.minio.removeBucket(step.name);
      done.add(step);
    }
  });

  for (const step of of("hdfs")) {
    if (plan.drop && step.name !== "/") await services.hdfs.delete(step.name, { recursive: true });
    else await emptyHdfsRoot(services.hdfs, step.name);
    done.add(step);
  }

  const redis = await services.redis();
  await withService("Redis", urls.redis, "delete queue keys", async () => {
    await deleteQueueKeys(redis, targets.queuePrefix);
    for (const s of plan.steps.filter((x) => x.kind === "redis-keys")) done.add(s);
  });

  return {
    drop: plan.drop,
    steps: plan.steps.map((s) => ({ ...s, done: done.has(s) || !s.present })),
    recreated,
  };
}

function amount(step: ResetStep): string {
  if (!step.present) return "-";
  return step.count === undefined ? "" : `${step.count} ${step.unit}`.trim();
}

/** The plan for people: one line per store item, what it holds and what happens to it. */
export function renderPlan(plan: ResetPlan, dryRun: boolean): string {
  const name = plan.drop ? "capline reset --drop" : "capline reset";
  const head = dryRun ? `${name} --dry-run: nothing is deleted. Would delete:` : `${name} will delete:`;
  const rows = plan.steps.map((s) => [s.store, s.kind, s.name, amount(s), s.action]);
  const tail = dryRun
    ? `Run \`capline reset${plan.drop ? " --drop" : ""} --yes\` to delete this.`
    : plan.total === 0
      ? plan.drop
        ? "There is no pipeline data; --drop removes the empty structures."
        : "There is no pipeline data; reset only recreates the empty structures."
      : `${plan.total.toLocaleString("en-US")} messages, documents, objects, files and keys in all.`;
  return [head, ...table(rows).map((l) => `  ${l}`), "", tail].join("\n");
}

/** The result for people. */
export function renderResetResult(result: ResetResult): string {
  const rows = result.steps
    .filter((s) => s.present)
    .map((s) => [s.done ? "deleted" : "NOT DONE", s.store, s.kind, s.name, amount(s)]);
  const lines = [...table(rows).map((l) => `  ${l}`), ""];
  if (result.drop) {
    lines.push("Dropped: nothing of these names is left. `capline setup` creates them again.");
    return lines.join("\n");
  }
  const recreated = result.recreated.filter((i) => i.status === "created").length;
  const differs = result.recreated.filter((i) => i.status === "differs");
  lines.push(
    `Recreated ${recreated} empty Elasticsearch ${recreated === 1 ? "index or alias" : "indices and aliases"}.`,
  );
  for (const d of differs) lines.push(`  ! ${d.kind} ${d.name}: ${d.differences.join("; ")}`);
  lines.push("Reset done: the pipeline can start over.");
  return lines.join("\n");
}
