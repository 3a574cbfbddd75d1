import type { Admin, ConfigResourceTypes, ConfigSource, IResourceConfigEntry } from "kafkajs";
import { CaplineError } from "../core/errors.ts";
import { partitionsText, type TopicSpec } from "./names.ts";
import type { SetupItem } from "./report.ts";

// kafkajs is CommonJS and Node cannot see its enums as named ESM exports: the protocol values.
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;
const TOPIC_CONFIG_SOURCE = 1 as ConfigSource;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a topic looks like on the brokers now. */
export interface TopicState {
  topic: string;
  partitions: number;
  replicationFactor: number;
}

export async function describeTopic(admin: Admin, topic: string): Promise<TopicState | undefined> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) return undefined;
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const meta = topics.find((t) => t.name === topic);
  if (!meta) return undefined;
  return {
    topic,
    partitions: meta.partitions.length,
    replicationFactor: meta.partitions[0]?.replicas.length ?? 0,
  };
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
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<SetupItem[]> {
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
    await createTopic(admin, spec, []);
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

/**
 * Creates a topic and waits until every partition has a leader and answers offset requests.
 * kafkajs's own `waitForLeaders` gives up when a KRaft broker briefly answers
 * UNKNOWN_TOPIC_OR_PARTITION for a topic it has just created, so the wait is done here.
 */
async function createTopic(
  admin: Admin,
  spec: TopicSpec,
  configEntries: IResourceConfigEntry[],
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await admin.createTopics({
        waitForLeaders: false,
        topics: [
          {
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: spec.replicationFactor,
            ...(configEntries.length ? { configEntries } : {}),
          },
        ],
      });
      break;
    } catch (error) {
      // Right after a delete the brokers may still hold the old topic (deletion is asynchronous).
      if (kafkaErrorType(error) !== "TOPIC_ALREADY_EXISTS" || Date.now() > deadline) throw error;
      await sleep(300);
    }
  }
  await waitUsable(admin, spec.topic, spec.partitions, deadline);
}

function kafkaErrorType(error: unknown): string | undefined {
  return (error as { type?: string } | null)?.type;
}

async function waitUsable(admin: Admin, topic: string, partitions: number, deadline: number): Promise<void> {
  let last: unknown;
  while (Date.now() <= deadline) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const meta = topics.find((t) => t.name === topic);
      if (meta && meta.partitions.length === partitions && meta.partitions.every((p) => p.leader >= 0)) {
        const offsets = await admin.fetchTopicOffsets(topic);
        if (offsets.length === partitions) return;
      }
    } catch (error) {
      // A new topic's partitions get their leaders one by one: UNKNOWN_TOPIC_OR_PARTITION,
      // LEADER_NOT_AVAILABLE and NOT_LEADER_OR_FOLLOWER are all part of the wait.
      if (!(error as { retriable?: boolean } | null)?.retriable) throw error;
      last = error;
    }
    await sleep(200);
  }
  throw new CaplineError("SERVICE_ERROR", `Kafka topic ${topic} was created but had no leaders in time`, {
    retryable: true,
    ...(last === undefined ? {} : { cause: last }),
  });
}

/** Messages in a topic now: the sum over partitions of high watermark − log start. */
export async function countMessages(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + (Number(p.high) - Number(p.low)), 0);
}

/** Settings set on the topic itself (cleanup.policy=compact, retention...), kept across a reset. */
async function topicConfigs(admin: Admin, topic: string): Promise<IResourceConfigEntry[]> {
  const described = await admin.describeConfigs({
    resources: [{ type: TOPIC_RESOURCE, name: topic }],
    includeSynonyms: false,
  });
  return (described.resources[0]?.configEntries ?? [])
    .filter((e) => e.configSource === TOPIC_CONFIG_SOURCE && !e.isDefault && !e.isSensitive)
    .map((e) => ({ name: e.configName, value: e.configValue }));
}

/**
 * Empties a topic by deleting and recreating it with the same partitions, replication and topic
 * settings. Chosen over deleteRecords because it also works for compacted topics (the ingest
 * checkpoints) and leaves offsets starting at 0, as on a fresh install. Waits until the new topic
 * has leaders and answers offset requests, so the next command can use it at once.
 */
export async function recreateTopic(admin: Admin, topic: string, timeoutMs = 60_000): Promise<TopicState> {
  const state = await describeTopic(admin, topic);
  if (!state) throw new CaplineError("INTERNAL", `Kafka topic ${topic} vanished during reset`);
  const configs = await topicConfigs(admin, topic);
  await admin.deleteTopics({ topics: [topic], timeout: timeoutMs });
  const deadline = Date.now() + timeoutMs;
  // Deletion is asynchronous on the brokers; creating too early fails with TOPIC_ALREADY_EXISTS.
  while ((await admin.listTopics()).includes(topic)) {
    if (Date.now() > deadline)
      throw new CaplineError(
        "SERVICE_ERROR",
        `Kafka topic ${topic} was still listed ${timeoutMs} ms after deletion`,
        {
          retryable: true,
        },
      );
    await sleep(200);
  }
  const spec = { topic, partitions: state.partitions, replicationFactor: state.replicationFactor };
  await createTopic(admin, spec, configs, Math.max(1_000, deadline - Date.now()));
  return state;
}

export interface GroupState {
  groupId: string;
  /** Kafka's group state: Dead = no such group; Empty = offsets only; Stable etc. = consumers attached. */
  state: string;
  members: number;
}

export async function describeGroups(admin: Admin, groupIds: readonly string[]): Promise<GroupState[]> {
  if (groupIds.length === 0) return [];
  const { groups } = await admin.describeGroups([...groupIds]);
  return groupIds.map((groupId) => {
    const g = groups.find((x) => x.groupId === groupId);
    return { groupId, state: g?.state ?? "Dead", members: g?.members.length ?? 0 };
  });
}

/** Error code 69: the group is gone already (deleted between describe and delete). */
const GROUP_ID_NOT_FOUND = 69;

/** Deletes the groups' committed offsets; a group that does not exist is fine. */
export async function deleteGroups(admin: Admin, groupIds: readonly string[]): Promise<string[]> {
  const present = (await describeGroups(admin, groupIds)).filter((g) => g.state !== "Dead");
  const active = present.filter((g) => g.members > 0);
  if (active.length) throw activeGroupsError(active, false);
  if (present.length === 0) return [];
  try {
    await admin.deleteGroups(present.map((g) => g.groupId));
  } catch (error) {
    const failed = (error as { groups?: { groupId: string; errorCode?: number }[] }).groups;
    if (!failed || failed.some((f) => f.errorCode !== GROUP_ID_NOT_FOUND)) throw error;
  }
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
