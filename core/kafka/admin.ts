import {
  Admin,
  ConfigResourceTypes,
  ConfigSources,
  FetchIsolationLevels,
  ListOffsetTimestamps,
} from "@platformatic/kafka";
import { CaplineError, ServiceUnavailableError } from "../errors.ts";
import { baseOptions } from "./client.ts";
import { hasKafkaError, isRetryable, kafkaCall, reasonOf } from "./errors.ts";
import type { KafkaOptions } from "./options.ts";

/**
 * Kafka administration for setup, reset, the monitor, process's backlog, compaction, the
 * benchmarks and the tests: topics (create, describe, settings, delete), offsets, consumer groups.
 * Every method throws CaplineErrors (core/kafka/errors.ts); offsets are plain numbers.
 */

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Topic-level settings, e.g. `{ "cleanup.policy": "compact" }`. */
  configs?: Readonly<Record<string, string>>;
}

export interface PartitionDescription {
  partition: number;
  /** Broker id of the leader; -1 while there is none. */
  leader: number;
  replicas: readonly number[];
}

export interface TopicDescription {
  topic: string;
  partitions: PartitionDescription[];
  /** Replicas of the first partition (capline's topics have the same count on every partition). */
  replicationFactor: number;
}

export interface ClusterDescription {
  /** The cluster's id (KRaft: the id its storage was formatted with). */
  clusterId: string;
  brokers: Array<{ id: number; host: string; port: number }>;
  /** Broker id of the active controller; undefined without one (no quorum). */
  controller: number | undefined;
}

/** Start and end of a partition: `low` is the log start, `high` the high watermark (or, read_committed, the last stable offset). */
export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

export interface GroupDescription {
  groupId: string;
  /** Kafka's group state: Dead = no such group; Empty = offsets only; Stable etc. = members attached. */
  state: string;
  members: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kafka's states, whichever spelling the broker version answers with (STABLE / Stable). */
function groupState(raw: string | undefined): string {
  if (raw === undefined || raw === "") return "Dead";
  const known: Record<string, string> = {
    PREPARING_REBALANCE: "PreparingRebalance",
    COMPLETING_REBALANCE: "CompletingRebalance",
    STABLE: "Stable",
    DEAD: "Dead",
    EMPTY: "Empty",
  };
  return known[raw] ?? raw;
}

export class KafkaAdmin {
  private readonly client: Admin;

  constructor(private readonly options: KafkaOptions) {
    this.client = new Admin(baseOptions(options, "-admin"));
  }

  private call<T>(what: string, fn: (client: Admin) => Promise<T>): Promise<T> {
    return kafkaCall(this.options.brokers, what, () => fn(this.client));
  }

  /** Brokers and controller, from a fresh metadata request. */
  describeCluster(): Promise<ClusterDescription> {
    return this.call("describe the cluster", async (client) => {
      const metadata = await client.metadata({ topics: [], forceUpdate: true });
      const brokers = [...metadata.brokers].map(([id, b]) => ({ id, host: b.host, port: b.port }));
      const controller = metadata.controllerId >= 0 ? metadata.controllerId : undefined;
      return { clusterId: metadata.id, brokers, controller };
    });
  }

  listTopics(): Promise<string[]> {
    return this.call("list topics", (client) => client.listTopics());
  }

  /** A topic's partitions and their leaders now; undefined when the topic does not exist. */
  async describeTopic(topic: string): Promise<TopicDescription | undefined> {
    const all = await this.describeTopics([topic]);
    return all.get(topic);
  }

  /** The topics of `topics` that exist, described (see describeTopic). */
  async describeTopics(topics: readonly string[]): Promise<Map<string, TopicDescription>> {
    const existing = new Set(await this.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const out = new Map<string, TopicDescription>();
    if (present.length === 0) return out;
    const metadata = await this.call(`describe topic(s) ${present.join(", ")}`, (client) =>
      client.metadata({ topics: present, forceUpdate: true }),
    );
    for (const topic of present) {
      const meta = metadata.topics.get(topic);
      if (!meta) continue;
      const partitions = meta.partitions.map((p, partition) => ({
        partition,
        leader: p.leader,
        replicas: p.replicas,
      }));
      out.set(topic, { topic, partitions, replicationFactor: partitions[0]?.replicas.length ?? 0 });
    }
    return out;
  }

  /**
   * Creates a topic and waits until every partition has a leader and answers offset requests (a
   * KRaft broker briefly answers UNKNOWN_TOPIC_OR_PARTITION for a topic it has just created).
   * Right after a delete the brokers may still hold the old topic: creating is retried until
   * `timeoutMs`. With `ifMissing`, a topic that exists already is left as it is.
   */
  async createTopic(
    spec: TopicSpec,
    { ifMissing = false, timeoutMs = 60_000 } = {},
  ): Promise<"created" | "exists"> {
    const deadline = Date.now() + timeoutMs;
    const configs = Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value }));
    for (;;) {
      try {
        await this.call(`create topic ${spec.topic}`, (client) =>
          client.createTopics({
            topics: [spec.topic],
            partitions: spec.partitions,
            replicas: spec.replicationFactor,
            configs,
          }),
        );
        break;
      } catch (error) {
        if (hasKafkaError(error, "INVALID_REPLICATION_FACTOR") && Date.now() < deadline) {
          // A broker that has just started is not registered with the controller yet, and the
          // cluster answers as if it had no broker: wait for it. A cluster that really has fewer
          // brokers than asked for is named as such.
          const { brokers } = await this.describeCluster();
          if (brokers.length < spec.replicationFactor)
            throw new CaplineError(
              "CONFLICT",
              `Kafka topic ${spec.topic} needs ${spec.replicationFactor} replicas but the cluster has ${brokers.length} broker(s); set KAFKA_REPLICATION_FACTOR to at most ${brokers.length}`,
              { cause: error },
            );
          await sleep(500);
          continue;
        }
        if (!hasKafkaError(error, "TOPIC_ALREADY_EXISTS")) throw error;
        if (ifMissing) return "exists";
        if (Date.now() > deadline) throw error;
        await sleep(300);
      }
    }
    await this.waitUsable(spec.topic, spec.partitions, deadline);
    return "created";
  }

  private async waitUsable(topic: string, partitions: number, deadline: number): Promise<void> {
    let last: unknown;
    while (Date.now() <= deadline) {
      try {
        const described = await this.describeTopic(topic);
        if (described?.partitions.length === partitions && described.partitions.every((p) => p.leader >= 0)) {
          if ((await this.offsets(topic)).length === partitions) return;
        }
      } catch (error) {
        // Leaders are elected partition by partition: UNKNOWN_TOPIC_OR_PARTITION,
        // LEADER_NOT_AVAILABLE and NOT_LEADER_OR_FOLLOWER are all part of the wait.
        if (!isRetryable(error) && !hasKafkaError(error, "UNKNOWN_TOPIC_OR_PARTITION")) throw error;
        last = error;
      }
      await sleep(200);
    }
    throw new CaplineError("SERVICE_ERROR", `Kafka topic ${topic} was created but had no leaders in time`, {
      retryable: true,
      ...(last === undefined ? {} : { cause: last }),
    });
  }

  /** Deletes topics and waits until the brokers no longer list them (deletion is asynchronous). */
  async deleteTopics(topics: readonly string[], timeoutMs = 60_000): Promise<void> {
    if (topics.length === 0) return;
    await this.call(`delete topic(s) ${topics.join(", ")}`, (client) =>
      client.deleteTopics({ topics: [...topics] }),
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const listed = new Set(await this.listTopics());
      if (!topics.some((t) => listed.has(t))) return;
      if (Date.now() > deadline)
        throw new CaplineError(
          "SERVICE_ERROR",
          `Kafka topic(s) ${topics.filter((t) => listed.has(t)).join(", ")} still listed ${timeoutMs} ms after deletion`,
          { retryable: true },
        );
      await sleep(200);
    }
  }

  /** Settings set on the topic itself (cleanup.policy=compact, retention...), not the broker's defaults. */
  topicConfigs(topic: string): Promise<Record<string, string>> {
    return this.call(`describe the settings of topic ${topic}`, async (client) => {
      const [described] = await client.describeConfigs({
        resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
        includeSynonyms: false,
      });
      const out: Record<string, string> = {};
      for (const c of described?.configs ?? [])
        if (
          c.configSource === ConfigSources.DYNAMIC_TOPIC_CONFIG &&
          !c.isSensitive &&
          typeof c.value === "string"
        )
          out[c.name] = c.value;
      return out;
    });
  }

  /**
   * Start and end offsets of every partition of `topic`, by partition. read_committed: the end is
   * the last stable offset (below any open transaction) instead of the high watermark.
   */
  offsets(topic: string, { readCommitted = false } = {}): Promise<PartitionOffsets[]> {
    return this.call(`list the offsets of topic ${topic}`, async (client) => {
      const metadata = await client.metadata({ topics: [topic] });
      const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
      const partitions = Array.from({ length: count }, (_, p) => p);
      const list = (timestamp: bigint) =>
        client.listOffsets({
          topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p, timestamp })) }],
          isolationLevel: readCommitted
            ? FetchIsolationLevels.READ_COMMITTED
            : FetchIsolationLevels.READ_UNCOMMITTED,
        });
      const [low, high] = await Promise.all([
        list(ListOffsetTimestamps.EARLIEST),
        list(ListOffsetTimestamps.LATEST),
      ]);
      const lows = new Map(low[0]?.partitions.map((p) => [p.partitionIndex, Number(p.offset)]) ?? []);
      return (high[0]?.partitions ?? [])
        .map((p) => ({
          partition: p.partitionIndex,
          low: lows.get(p.partitionIndex) ?? 0,
          high: Number(p.offset),
        }))
        .sort((a, b) => a.partition - b.partition);
    });
  }

  /**
   * Deletes every record of `topic`/`partition` below `offset` (Kafka's DeleteRecords: the log
   * start moves up; the records are gone for every reader at once, the files follow). Returns the
   * partition's new log start offset.
   */
  deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    return this.call(`delete the records of ${topic}/${partition} below offset ${offset}`, async (client) => {
      const [answer] = await client.deleteRecords({
        topics: [{ name: topic, partitions: [{ partition, offset: BigInt(offset) }] }],
      });
      const low = answer?.partitions.find((p) => p.partition === partition)?.lowWatermark;
      if (low === undefined)
        throw new CaplineError("SERVICE_ERROR", `Kafka did not answer for ${topic}/${partition}`, {
          retryable: true,
        });
      return Number(low);
    });
  }

  /** The group's committed offset per partition of `topic` (-1: none, or no such group). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    return this.call(`read the offsets of consumer group ${groupId}`, async (client) => {
      const [group] = await client.listConsumerGroupOffsets({ groups: [groupId] });
      const out = new Map<number, number>();
      for (const t of group?.topics ?? [])
        if (t.name === topic)
          for (const p of t.partitions) out.set(p.partitionIndex, Number(p.committedOffset));
      return out;
    });
  }

  /** Ids of every consumer group the brokers know. */
  listGroups(): Promise<string[]> {
    return this.call("list consumer groups", async (client) => [...(await client.listGroups()).keys()]);
  }

  /** State and member count of each group, in the order asked; a group that does not exist is Dead. */
  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    if (groupIds.length === 0) return Promise.resolve([]);
    return this.call(`describe consumer group(s) ${groupIds.join(", ")}`, async (client) => {
      const groups = await client.describeGroups({ groups: [...groupIds] });
      return groupIds.map((groupId) => {
        const g = groups.get(groupId);
        return { groupId, state: groupState(g?.state), members: g?.members.size ?? 0 };
      });
    });
  }

  /** Deletes groups and their committed offsets; groups that do not exist are skipped. */
  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    if (groupIds.length === 0) return;
    try {
      await this.call(`delete consumer group(s) ${groupIds.join(", ")}`, (client) =>
        client.deleteGroups({ groups: [...groupIds] }),
      );
    } catch (error) {
      if (!hasKafkaError(error, "GROUP_ID_NOT_FOUND")) throw error;
      // Some of them were gone already: delete the others one by one.
      for (const id of groupIds)
        await this.call(`delete consumer group ${id}`, (client) =>
          client.deleteGroups({ groups: [id] }),
        ).catch((e: unknown) => {
          if (!hasKafkaError(e, "GROUP_ID_NOT_FOUND")) throw e;
        });
    }
  }

  /** Sets a group's committed offsets of `topic` (the group must have no members). */
  setGroupOffsets(
    groupId: string,
    topic: string,
    offsets: ReadonlyArray<{ partition: number; offset: number }>,
  ): Promise<void> {
    return this.call(`set the offsets of consumer group ${groupId}`, (client) =>
      client.alterConsumerGroupOffsets({
        groupId,
        topics: [
          {
            name: topic,
            partitionOffsets: offsets.map((o) => ({ partition: o.partition, offset: BigInt(o.offset) })),
          },
        ],
      }),
    );
  }

  /** Sets a group's committed offsets of `topic` back to the start of every partition (the group must be empty). */
  async resetGroupToEarliest(groupId: string, topic: string): Promise<void> {
    const offsets = await this.offsets(topic);
    await this.setGroupOffsets(
      groupId,
      topic,
      offsets.map((o) => ({ partition: o.partition, offset: o.low })),
    );
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}

/**
 * Waits until a broker answers, retrying with backoff for `timeoutMs`; then throws the
 * SERVICE_UNAVAILABLE error naming the brokers.
 */
export async function waitForKafka(
  options: KafkaOptions,
  timeoutMs = options.connectTimeoutMs,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 250;
  for (;;) {
    const admin = new KafkaAdmin({
      ...options,
      retries: 0,
      socketTimeoutMs: Math.min(3_000, options.socketTimeoutMs),
    });
    try {
      await admin.describeCluster();
      return;
    } catch (error) {
      if (Date.now() + delay > deadline) {
        if (!(error instanceof ServiceUnavailableError)) throw error;
        throw new ServiceUnavailableError(
          "Kafka",
          options.brokers.join(","),
          `${reasonOf(error.cause)} (retried for ${Math.round(timeoutMs / 1000)} s; KAFKA_CONNECT_TIMEOUT_MS sets how long)`,
          { cause: error.cause },
        );
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 5_000);
    } finally {
      await admin.close();
    }
  }
}
