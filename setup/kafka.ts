import { CaplineError } from "../core/errors.ts";
import type { KafkaAdmin } from "../core/kafka/index.ts";
import { partitionsText, type TopicSpec } from "./names.ts";
import type { SetupItem } from "./report.ts";

/** What a topic looks like on the brokers now. */
export interface TopicState {
  topic: string;
  partitions: number;
  replicationFactor: number;
}

export async function describeTopic(admin: KafkaAdmin, topic: string): Promise<TopicState | undefined> {
  const described = await admin.describeTopic(topic);
  if (!described) return undefined;
  return { topic, partitions: described.partitions.length, replicationFactor: described.replicationFactor };
}

function topicDifferences(spec: TopicSpec, state: TopicState): string[] {
  const out: string[] = [];
  if (state.partitions !== spec.partitions)
    out.push(`partitions: expected ${spec.partitions}, found ${state.partitions}`);
  if (state.replicationFactor !== spec.replicationFactor)
    out.push(`replication factor: expected ${spec.replicationFactor}, found ${state.replicationFactor}`);
  return out;
}

/**
 * Creates each topic that is missing; an existing topic with other partition or replica counts
 * is reported as `differs` and left alone (adding partitions would move keys to other partitions,
 * and removing them is impossible: that is for a person to decide).
 */
export async function ensureTopics(admin: KafkaAdmin, specs: readonly TopicSpec[]): Promise<SetupItem[]> {
  const items: SetupItem[] = [];
  for (const spec of specs) {
    const state = await describeTopic(admin, spec.topic);
    if (state) {
      const differences = topicDifferences(spec, state);
      items.push({
        store: "Kafka",
        kind: "topic",
        name: spec.topic,
        status: differences.length ? "differs" : "unchanged",
        differences,
        detail: partitionsText(state.partitions),
      });
      continue;
    }
    await admin.createTopic(spec);
    items.push({
      store: "Kafka",
      kind: "topic",
      name: spec.topic,
      status: "created",
      differences: [],
      detail: partitionsText(spec.partitions),
    });
  }
  return items;
}

/** Messages in a topic now: the sum over partitions of high watermark − log start. */
export async function countMessages(admin: KafkaAdmin, topic: string): Promise<number> {
  const offsets = await admin.offsets(topic);
  return offsets.reduce((sum, p) => sum + (p.high - p.low), 0);
}

/**
 * Empties a topic by deleting and recreating it with the same partitions, replication and topic
 * settings. Chosen over deleteRecords because it also works for compacted topics (the ingest
 * checkpoints) and leaves offsets starting at 0, as on a fresh install. Waits until the new topic
 * has leaders and answers offset requests, so the next command can use it at once.
 */
export async function recreateTopic(
  admin: KafkaAdmin,
  topic: string,
  timeoutMs = 60_000,
): Promise<TopicState> {
  const state = await describeTopic(admin, topic);
  if (!state) throw new CaplineError("INTERNAL", `Kafka topic ${topic} vanished during reset`);
  const configs = await admin.topicConfigs(topic);
  const deadline = Date.now() + timeoutMs;
  // Deletion is asynchronous on the brokers: this returns once the topic is no longer listed.
  await admin.deleteTopics([topic], timeoutMs);
  await admin.createTopic(
    { topic, partitions: state.partitions, replicationFactor: state.replicationFactor, configs },
    { timeoutMs: Math.max(1_000, deadline - Date.now()) },
  );
  return state;
}

export interface GroupState {
  groupId: string;
  /** Kafka's group state: Dead = no such group; Empty = offsets only; Stable etc. = consumers attached. */
  state: string;
  members: number;
}

export function describeGroups(admin: KafkaAdmin, groupIds: readonly string[]): Promise<GroupState[]> {
  return admin.describeGroups(groupIds);
}

/** Deletes the groups' committed offsets; a group that does not exist is fine. */
export async function deleteGroups(admin: KafkaAdmin, groupIds: readonly string[]): Promise<string[]> {
  const present = (await describeGroups(admin, groupIds)).filter((g) => g.state !== "Dead");
  const active = present.filter((g) => g.members > 0);
  if (active.length) throw activeGroupsError(active, false);
  if (present.length === 0) return [];
  await admin.deleteGroups(present.map((g) => g.groupId));
  return present.map((g) => g.groupId);
}

export function activeGroupsError(active: readonly GroupState[], nothingDeleted: boolean): CaplineError {
  const list = active.map((g) => `${g.groupId} (${g.members} consumers, ${g.state})`).join(", ");
  return new CaplineError(
    "CONFLICT",
    `Kafka consumer group(s) still have consumers attached: ${list}. Stop the dispatchers and workers first, then run reset again${nothingDeleted ? "; nothing was deleted" : ""}.`,
    { details: { groups: active } },
  );
}
