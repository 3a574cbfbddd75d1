import type { Config } from "./config/index.ts";
import { INDEX_NAMES, type IndexName, MAPPING_VERSION } from "./schema/indices.ts";

export { INDEX_NAMES, type IndexName };

/**
 * Every name capline gives a resource, in one place: Kafka topics, consumer groups and
 * transactional ids, BullMQ queues and Redis keys, Elasticsearch aliases and indices, the lake's
 * bucket, HDFS root and object keys. Setup, reset, ingest, processing, the monitor, the benchmarks
 * and the tests all derive names from here, so they cannot drift apart. The functions take the
 * configured parts (topic, client id, prefixes) as arguments; `resourceNames(config)` applies them
 * to a configuration.
 */

// ---- Kafka ----------------------------------------------------------------------------------

/** The compacted topic holding the ingester's per-file checkpoints: `<topic>.checkpoints`. */
export function checkpointTopicOf(topic: string): string {
  return `${topic}.checkpoints`;
}

/**
 * The compacted topic recording which refused rows `capline dlq replay` has sent into `topic`
 * (one record per row, in the same transaction as its event): `<topic>.dlq-replays`.
 */
export function dlqReplayTopicOf(topic: string): string {
  return `${topic}.dlq-replays`;
}

/** The transactional id of every `capline dlq replay` into `topic` (one replay at a time). */
export function dlqReplayTransactionalId(topic: string): string {
  return `capline-dlq-replay.${topic}`.slice(0, 249);
}

/**
 * The transactional id with which `capline forget` run `runId` copies the records it keeps of one
 * DLQ partition (processing/forget/dlq-kafka.ts): a rerun after a kill fences the killed one.
 */
export function forgetDlqTransactionalId(dlqTopic: string, runId: string, partition: number): string {
  return `capline-forget.${runId}.${partition}.${dlqTopic}`.slice(0, 249);
}

/** The consumer-group suffixes capline's stages use: `${KAFKA_CLIENT_ID}-<suffix>`. */
export const CONSUMER_GROUP_SUFFIXES = ["dispatcher"] as const;
export type ConsumerGroupSuffix = (typeof CONSUMER_GROUP_SUFFIXES)[number];

/** The Kafka consumer group of a stage: `capline-dispatcher`. */
export function consumerGroup(clientId: string, suffix: ConsumerGroupSuffix): string {
  return `${clientId}-${suffix}`;
}

/** The dispatchers' consumer group: `${KAFKA_CLIENT_ID}-dispatcher`. */
export function dispatcherGroupOf(clientId: string): string {
  return consumerGroup(clientId, "dispatcher");
}

/** Every consumer group of capline (reset deletes their offsets). */
export function consumerGroups(clientId: string): string[] {
  return CONSUMER_GROUP_SUFFIXES.map((s) => consumerGroup(clientId, s));
}

/**
 * Start of the transactional id (and, before capline 0.2, the checkpoint consumer group) of every
 * file ingested into `topic`: `capline-ingest.<topic>.`; reset deletes such groups by this prefix.
 */
export function ingestIdPrefix(topic: string): string {
  return `capline-ingest.${topic}.`;
}

/** Kafka limits transactional ids and group ids to 249 characters; a sha256 is 64. */
const KAFKA_ID_MAX = 249;

/** The transactional id of one input (by content) into `topic`. */
export function ingestTransactionalId(topic: string, fileId: string): string {
  return `${ingestIdPrefix(topic)}${fileId}`.slice(0, KAFKA_ID_MAX);
}

// ---- BullMQ queues and Redis keys ------------------------------------------------------------

/** The BullMQ queues (under QUEUE_PREFIX): the two sinks and the periodic RFM recomputation. */
export const QUEUES = { archive: "archive", index: "index", rfm: "rfm" } as const;
export type SinkQueue = typeof QUEUES.archive | typeof QUEUES.index;
/** The sink queues, in the order the monitor shows them. */
export const SINK_QUEUES: readonly SinkQueue[] = [QUEUES.archive, QUEUES.index];

/** A run of consecutive offsets of one partition (see processing/watermark.ts). */
export interface RangeRef {
  topic: string;
  partition: number;
  first: number;
  last: number;
}

/** A range's id: `<topic>+<partition>+<first>-<last>`; job ids, payload keys and lake files use it. */
export function rangeId(range: RangeRef): string {
  return `${range.topic}+${range.partition}+${range.first}-${range.last}`;
}

/** One Kafka message's place, `<topic>+<partition>+<offset>`: the key of its DLQ record. */
export function messageId(topic: string, partition: number, offset: number): string {
  return `${topic}+${partition}+${offset}`;
}

/** Redis list of the newest records the workers sent to the DLQ, for `capline monitor`. */
export function recentDlqKey(queuePrefix: string): string {
  return `${queuePrefix}:dlq:recent`;
}

/** Redis key of a range's messages, stored by the dispatcher for the range's jobs. */
export function payloadKey(queuePrefix: string, range: RangeRef): string {
  return `${queuePrefix}:payload:${rangeId(range)}`;
}

/** Pattern of the stored messages of every range in flight under a queue prefix (`SCAN MATCH`). */
export function payloadPattern(queuePrefix: string): string {
  return `${escapeGlob(queuePrefix)}:payload:*`;
}

/** A range id (`<topic>+<partition>+<first>-<last>`, as in a payload key or a job id) back into its parts. */
export function parseRangeId(text: string): RangeRef | undefined {
  const m = /(?:^|:)([A-Za-z0-9._-]+)\+(\d+)\+(\d+)-(\d+)$/.exec(text);
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return undefined;
  return { topic: m[1], partition: Number(m[2]), first: Number(m[3]), last: Number(m[4]) };
}

/** Redis hash of the cuts the dispatchers registered for one partition. */
export function cutsKey(queuePrefix: string, topic: string, partition: number): string {
  return `${queuePrefix}:cuts:${topic}:${partition}`;
}

/** Pattern of the cut registries of every partition of a topic (`SCAN MATCH`). */
export function cutsPattern(queuePrefix: string, topic: string): string {
  return `${escapeGlob(queuePrefix)}:cuts:${escapeGlob(topic)}:*`;
}

/**
 * Key prefix of one partition's seen-set (event_id → offset of its first occurrence; see
 * processing/dispatch/seen-set.ts). Under it, `seenSetMetaKey` holds the partition's state, and
 * each UTC event day has linear-hashing buckets named `seenSetBucketKey`; the seen-set's Lua
 * script (processing/dispatch/lua/mark-seen.lua) builds the bucket names the same way.
 */
export function seenSetPrefix(queuePrefix: string, topic: string, partition: number): string {
  return `${queuePrefix}:seen:${topic}:${partition}`;
}

/** The partition's seen-set state: `since`, `newest` and one `d<day>` field per event day. */
export function seenSetMetaKey(prefix: string): string {
  return `${prefix}:meta`;
}

/** One bucket of one event day (days since 1970-01-01, UTC) of a seen-set. */
export function seenSetBucketKey(prefix: string, day: number, bucket: number): string {
  return `${prefix}:${day}:${bucket}`;
}

/** Pattern of the seen-sets of every partition of a topic (`SCAN MATCH`). */
export function seenSetPattern(queuePrefix: string, topic: string): string {
  return `${escapeGlob(queuePrefix)}:seen:${escapeGlob(topic)}:*`;
}

/** The key of a DLQ record of an events-topic message: `<topic>+<partition>+<offset>`. */
export function dlqMessageKey(topic: string, partition: number, offset: number): string {
  return `${topic}+${partition}+${offset}`;
}

/**
 * The forget list (`capline forget`, processing/forget/): a sorted set of forgotten customers, each
 * a SHA-256 of the user_id (processing/forget/tombstones.ts, `forgetHash`), scored by the time (ms)
 * its tombstone expires; the workers drop these customers' events before every write.
 */
export function tombstonesKey(queuePrefix: string): string {
  return `${queuePrefix}:forget:tombstones`;
}

/** Bumped on every change of the forget list: workers reload the list only when it moved. */
export function tombstonesVersionKey(queuePrefix: string): string {
  return `${queuePrefix}:forget:version`;
}

/** Held by a forget run while it plans: index jobs wait while it exists (a lease with a TTL). */
export function forgetLeaseKey(queuePrefix: string): string {
  return `${queuePrefix}:forget:lease`;
}

/** The holders of the lake while `capline forget` (alone) or `capline compact` (together) rewrite existing lake files. */
export function lakeLockKey(queuePrefix: string): string {
  return `${queuePrefix}:lake:holders`;
}

/** The durable progress record of one forget run (its plan and phase; no personal data). */
export function forgetRunKey(queuePrefix: string, runId: string): string {
  return `${queuePrefix}:forget:run:${runId}`;
}

/** Pattern of every forget run record (`SCAN MATCH`). */
export function forgetRunPattern(queuePrefix: string): string {
  return `${escapeGlob(queuePrefix)}:forget:run:*`;
}

/** Pattern of every Redis key under a queue prefix (`SCAN MATCH`), glob characters escaped. */
export function queueKeysPattern(queuePrefix: string): string {
  return `${escapeGlob(queuePrefix)}:*`;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

// ---- Elasticsearch ---------------------------------------------------------------------------

/** The alias readers and writers use: `capline-profiles`. */
export function aliasName(prefix: string, name: IndexName): string {
  return `${prefix}-${name}`;
}

/** The concrete index behind the alias: `capline-profiles-v1` (core/schema/indices.ts, MAPPING_VERSION). */
export function concreteIndexName(prefix: string, name: IndexName): string {
  return `${aliasName(prefix, name)}-v${MAPPING_VERSION}`;
}

/** The index template of one logical index: named as its alias. */
export function indexTemplateName(prefix: string, name: IndexName): string {
  return aliasName(prefix, name);
}

/** The concrete indices a template applies to: every version, `capline-profiles-v*`. */
export function indexTemplatePattern(prefix: string, name: IndexName): string {
  return `${aliasName(prefix, name)}-v*`;
}

/** Every alias and concrete index of a prefix (the current mapping version). */
export function indexNames(prefix: string): string[] {
  return INDEX_NAMES.flatMap((n) => [aliasName(prefix, n), concreteIndexName(prefix, n)]);
}

/** Pattern of every index of a prefix (`capline-*`), for reset and the monitor. */
export function indexPattern(prefix: string): string {
  return `${prefix}-*`;
}

// ---- The lake (MinIO bucket and HDFS root, same relative keys) -------------------------------

const DT = /^\d{4}-\d{2}-\d{2}$/;

/** The folder holding every day folder of the lake. */
export const LAKE_EVENTS_DIR = "events";

/** The folder of one UTC event date: `events/dt=2019-10-01`. */
export function lakeDayDir(dt: string): string {
  if (!DT.test(dt)) throw new RangeError(`dt must be YYYY-MM-DD, got "${dt}"`);
  return `${LAKE_EVENTS_DIR}/dt=${dt}`;
}

/** The date of a day folder (`dt=2019-10-01`, `events/dt=2019-10-01/`); undefined for anything else. */
export function parseLakeDayDir(name: string): string | undefined {
  return /^(?:events\/)?dt=(\d{4}-\d{2}-\d{2})\/?$/.exec(name)?.[1];
}

/** `events/dt=<dt>/<topic>+<partition>+<first>-<last>.parquet` (DESIGN.md, "Lake layout"). */
export function lakeKey(dt: string, topic: string, partition: number, first: number, last: number): string {
  return `${lakeDayDir(dt)}/${rangeId({ topic, partition, first, last })}.parquet`;
}

/** The start of the names of one partition's files of one day (a listing prefix). */
export function lakePartitionPrefix(dt: string, topic: string, partition: number): string {
  return `${lakeDayDir(dt)}/${topic}+${partition}+`;
}

/** Parses a lake key back into its parts; `undefined` for anything else (temporary files...). */
export function parseLakeKey(
  key: string,
): { dt: string; topic: string; partition: number; first: number; last: number } | undefined {
  const m = /(?:^|\/)events\/dt=(\d{4}-\d{2}-\d{2})\/([A-Za-z0-9._-]+)\+(\d+)\+(\d+)-(\d+)\.parquet$/.exec(
    key,
  );
  if (!m) return undefined;
  const [, dt, topic, partition, first, last] = m;
  if (!dt || !topic || !partition || !first || !last) return undefined;
  return { dt, topic, partition: Number(partition), first: Number(first), last: Number(last) };
}

/** An HDFS path under the configured root (`/capline` + `events/...`). */
export function hdfsPath(root: string, key: string): string {
  const base = root === "/" ? "" : root.replace(/\/+$/, "");
  return key === "" ? base || "/" : `${base}/${key}`;
}

// ---- All of it for one configuration ---------------------------------------------------------

export interface ResourceNames {
  topic: string;
  dlqTopic: string;
  checkpointTopic: string;
  dispatcherGroup: string;
  consumerGroups: string[];
  ingestIdPrefix: string;
  queuePrefix: string;
  indexPrefix: string;
  alias: (name: IndexName) => string;
  bucket: string;
  hdfsRoot: string;
}

export function resourceNames(config: Config): ResourceNames {
  const topic = config.kafka.topic;
  const indexPrefix = config.elasticsearch.indexPrefix;
  return {
    topic,
    dlqTopic: config.kafka.dlqTopic,
    checkpointTopic: checkpointTopicOf(topic),
    dispatcherGroup: dispatcherGroupOf(config.kafka.clientId),
    consumerGroups: consumerGroups(config.kafka.clientId),
    ingestIdPrefix: ingestIdPrefix(topic),
    queuePrefix: config.redis.queuePrefix,
    indexPrefix,
    alias: (name) => aliasName(indexPrefix, name),
    bucket: config.minio.bucket,
    hdfsRoot: config.hdfs.root,
  };
}

/**
 * Configuration values that put everything a run writes under one `name`: its topics, consumer
 * groups, queues, indices, bucket and HDFS root (tests and benchmarks share the running stack).
 */
export function isolatedNames(
  name: string,
): Record<
  | "KAFKA_TOPIC"
  | "KAFKA_DLQ_TOPIC"
  | "KAFKA_CLIENT_ID"
  | "QUEUE_PREFIX"
  | "ELASTICSEARCH_INDEX_PREFIX"
  | "MINIO_BUCKET"
  | "HDFS_ROOT",
  string
> {
  return {
    KAFKA_TOPIC: name,
    KAFKA_DLQ_TOPIC: `${name}.dlq`,
    KAFKA_CLIENT_ID: name,
    QUEUE_PREFIX: name,
    ELASTICSEARCH_INDEX_PREFIX: name,
    MINIO_BUCKET: name,
    HDFS_ROOT: `/${name}`,
  };
}
