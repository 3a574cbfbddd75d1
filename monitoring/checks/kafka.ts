import type { CheckOutcome } from "../types.ts";
import type { CheckContext } from "./context.ts";

export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

/** Start and end offsets of a topic, once per round; undefined when the topic does not exist. */
export function topicOffsets(ctx: CheckContext, topic: string): Promise<PartitionOffsets[] | undefined> {
  return ctx.clients.once(`offsets:${topic}`, async () => {
    const admin = await ctx.clients.kafkaAdmin();
    const topics = await topicList(ctx);
    if (!topics.has(topic)) return undefined;
    return admin.offsets(topic);
  });
}

/** Messages a topic holds now (end − start offsets; transaction markers take offsets too). */
export function messageCount(offsets: readonly PartitionOffsets[]): number {
  return offsets.reduce((sum, p) => sum + Math.max(0, p.high - p.low), 0);
}

function topicList(ctx: CheckContext): Promise<Set<string>> {
  return ctx.clients.once("topics", async () => new Set(await (await ctx.clients.kafkaAdmin()).listTopics()));
}

/** Brokers and controller answer; the events and DLQ topics exist with led partitions. */
export async function checkKafka(ctx: CheckContext): Promise<CheckOutcome> {
  const { topic, dlqTopic, partitions: wantedPartitions } = ctx.config.kafka;
  const admin = await ctx.clients.kafkaAdmin();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0) return { status: "DOWN", reason: "the metadata lists no broker" };
  if (cluster.controller === undefined)
    return { status: "DOWN", reason: "no active controller (the cluster has no quorum)" };
  const existing = await topicList(ctx);
  const wanted = [topic, dlqTopic];
  const present = wanted.filter((t) => existing.has(t));
  const missing = wanted.filter((t) => !existing.has(t));
  const metadata = present.length > 0 ? await admin.describeTopics(present) : new Map();
  const counts: Record<string, number> = {};
  const leaderless: string[] = [];
  for (const t of metadata.values()) {
    counts[t.topic] = t.partitions.length;
    for (const p of t.partitions) if (p.leader < 0) leaderless.push(`${t.topic}[${p.partition}]`);
  }
  const details = {
    brokers: cluster.brokers.map((b) => `${b.host}:${b.port}`),
    controller: cluster.controller,
    partitions: counts,
    missingTopics: missing,
  };
  const brokers = `${cluster.brokers.length} broker${cluster.brokers.length === 1 ? "" : "s"}`;
  if (leaderless.length > 0)
    return {
      status: "DOWN",
      reason: `${brokers}; partitions without a leader: ${leaderless.join(", ")}`,
      details,
    };
  const topics = present.map((t) => `${t} ${counts[t] ?? 0}p`).join(", ");
  if (missing.length > 0)
    return {
      status: "WARN",
      blocking: true,
      reason: `${brokers}; topic${missing.length === 1 ? "" : "s"} ${missing.join(", ")} missing: run \`capline setup\``,
      details,
    };
  const eventsPartitions = counts[topic] ?? 0;
  if (eventsPartitions < wantedPartitions)
    return {
      status: "WARN",
      reason: `${brokers}; ${topic} has ${eventsPartitions} partitions, KAFKA_PARTITIONS asks for ${wantedPartitions}`,
      details,
    };
  return { status: "OK", reason: `${brokers}, controller ${cluster.controller}; ${topics}`, details };
}
