import { aliasName, dispatcherGroupOf, recentDlqKey } from "../../core/names.ts";
import type { CheckOutcome, Sample } from "../types.ts";
import type { CheckContext } from "./context.ts";
import { messageCount, topicOffsets } from "./kafka.ts";
import { ago } from "./minio.ts";

export interface PartitionLag {
  partition: number;
  high: number;
  /** The group's committed offset; null when it never committed on this partition. */
  committed: number | null;
  lag: number;
}

/**
 * Lag per partition: end offset minus the committed offset. A partition the group never committed
 * counts from its start offset (the dispatcher reads from the beginning).
 */
export function computeLag(
  ends: readonly { partition: number; low: number; high: number }[],
  committed: ReadonlyMap<number, number>,
): PartitionLag[] {
  return ends.map((e) => {
    const c = committed.get(e.partition);
    const done = c !== undefined && c >= 0 ? c : null;
    return {
      partition: e.partition,
      high: e.high,
      committed: done,
      lag: Math.max(0, e.high - (done ?? e.low)),
    };
  });
}

interface OpsFacts {
  /** False when the ops index does not exist (nothing ran yet, or setup was not run). */
  present: boolean;
  ingested: number;
  rejected: number;
  lastIngestAt: number | undefined;
  processed: Record<string, number>;
  lastProcessAt: number | undefined;
  /** Mean seconds per range and sink over the last 15 minutes. */
  recentLatency: Record<string, number>;
  processingDlq: number;
  /** Newest event time in the profiles (what the pipeline has processed up to). */
  newestProcessedEvent: number | undefined;
}

function isNotFound(error: unknown): boolean {
  return (error as { meta?: { statusCode?: number } }).meta?.statusCode === 404;
}

interface Agg {
  value?: number | null;
  doc_count?: number;
  buckets?: ({ key: string } & Record<string, Agg>)[];
  [k: string]: unknown;
}

/** Ingest and processing records of the ops index, and the newest processed event; once per round. */
export function opsFacts(ctx: CheckContext): Promise<OpsFacts> {
  return ctx.clients.once("ops", async () => {
    const es = ctx.clients.elasticsearch();
    const prefix = ctx.config.elasticsearch.indexPrefix;
    const topic = ctx.config.kafka.topic;
    const facts: OpsFacts = {
      present: true,
      ingested: 0,
      rejected: 0,
      lastIngestAt: undefined,
      processed: {},
      lastProcessAt: undefined,
      recentLatency: {},
      processingDlq: 0,
      newestProcessedEvent: undefined,
    };
    try {
      const answer = await es.search(
        {
          index: aliasName(prefix, "ops"),
          size: 0,
          query: { term: { topic } },
          aggs: {
            ingest: {
              filter: { term: { kind: "ingest" } },
              aggs: {
                // A resumed file reports its running totals again: per file, the highest count.
                files: {
                  terms: { field: "file", size: 10_000 },
                  aggs: { sent: { max: { field: "sent" } }, rejected: { max: { field: "rejected" } } },
                },
                last: { max: { field: "@timestamp" } },
              },
            },
            process: {
              filter: { term: { kind: "process" } },
              aggs: {
                last: { max: { field: "@timestamp" } },
                sinks: {
                  terms: { field: "sink", size: 10 },
                  aggs: {
                    events: { sum: { field: "events" } },
                    dlq: { sum: { field: "dlq" } },
                    recent: {
                      filter: { range: { "@timestamp": { gte: "now-15m" } } },
                      aggs: { seconds: { avg: { field: "seconds" } } },
                    },
                  },
                },
              },
            },
          },
        },
        { signal: ctx.signal },
      );
      const aggs = (answer.aggregations ?? {}) as Record<string, Agg>;
      const ingest = aggs.ingest as Record<string, Agg> | undefined;
      for (const f of ingest?.files?.buckets ?? []) {
        facts.ingested += Number(f.sent?.value ?? 0);
        facts.rejected += Number(f.rejected?.value ?? 0);
      }
      facts.lastIngestAt = ingest?.last?.value ?? undefined;
      const proc = aggs.process as Record<string, Agg> | undefined;
      facts.lastProcessAt = proc?.last?.value ?? undefined;
      for (const b of proc?.sinks?.buckets ?? []) {
        facts.processed[b.key] = Number(b.events?.value ?? 0);
        // The dispatcher's rejections ride on the archive records, each sink's refusals on its own.
        facts.processingDlq += Number(b.dlq?.value ?? 0);
        const recent = (b.recent as Record<string, Agg> | undefined)?.seconds?.value;
        if (typeof recent === "number") facts.recentLatency[b.key] = recent;
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
      facts.present = false;
    }
    try {
      const answer = await es.search(
        { index: aliasName(prefix, "profiles"), size: 0, aggs: { newest: { max: { field: "last_seen" } } } },
        { signal: ctx.signal },
      );
      const newest = (answer.aggregations as Record<string, Agg> | undefined)?.newest?.value;
      facts.newestProcessedEvent = typeof newest === "number" ? newest : undefined;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return facts;
  });
}

/**
 * Consumer lag of the dispatcher group per partition. WARN above MONITOR_LAG_WARN, or when there
 * is lag and the group has made no progress for MONITOR_STALL_SECONDS. Progress is the newest of:
 * the last time this monitor saw the committed offsets move (watch, serve) and the newest
 * processing record in the ops index (offsets are committed right after the sinks write).
 */
export async function checkLag(ctx: CheckContext): Promise<CheckOutcome> {
  const { topic, clientId } = ctx.config.kafka;
  const group = dispatcherGroupOf(clientId);
  const ends = await topicOffsets(ctx, topic);
  if (!ends) return { status: "OK", reason: `no data yet: topic ${topic} does not exist` };
  const admin = await ctx.clients.kafkaAdmin();
  const [described, committed] = await Promise.all([
    admin.describeGroups([group]),
    admin.committedOffsets(group, topic),
  ]);
  const info = described[0];
  const members = info?.members ?? 0;
  const lags = computeLag(ends, committed);
  const total = lags.reduce((s, p) => s + p.lag, 0);
  const samples: Sample[] = lags.map((p) => ({
    metric: "consumer_lag",
    labels: { group, topic, partition: String(p.partition) },
    value: p.lag,
  }));
  const now = Date.now();
  const signature = lags.map((p) => `${p.partition}:${p.committed ?? "-"}`).join(",");
  const seen = ctx.state.committed;
  if (!seen) ctx.state.committed = { signature, since: now, moved: false };
  else if (seen.signature !== signature) ctx.state.committed = { signature, since: now, moved: true };
  const watched = ctx.state.committed ?? { signature, since: now, moved: false };
  let ops: OpsFacts | undefined;
  try {
    ops = await opsFacts(ctx);
  } catch {
    // Elasticsearch's own row says why; the lag stands on Kafka's answer alone.
    ops = undefined;
  }
  const opsProgress = ops?.lastProcessAt ?? 0;
  // Known progress: a move this process saw, or the newest processing record.
  const progressAt = Math.max(watched.moved ? watched.since : 0, opsProgress);
  const progressAge = progressAt > 0 ? (now - progressAt) / 1000 : undefined;
  // Quiet time: also counts from the first sight of unchanged offsets (a lower bound in watch/serve).
  const quietSeconds = (now - Math.max(watched.since, opsProgress)) / 1000;
  if (progressAge !== undefined) samples.push({ metric: "last_progress_age_seconds", value: progressAge });
  const neverCommitted = lags.every((p) => p.committed === null);
  const details = {
    group,
    state: info?.state,
    members,
    total,
    partitions: lags,
    lastProgressAt: progressAt > 0 ? new Date(progressAt).toISOString() : null,
  };
  const worst = [...lags].sort((a, b) => b.lag - a.lag)[0];
  const perPartition = total > 0 && worst ? ` (most on partition ${worst.partition}: ${worst.lag})` : "";
  const who = members > 0 ? `${members} dispatcher${members === 1 ? "" : "s"}` : "no dispatcher connected";
  const progress = progressAge !== undefined ? `, last progress ${ago(progressAge * 1000)}` : "";
  const base = `lag ${total}${perPartition}, ${who}${progress}`;
  const t = ctx.options.thresholds;
  if (total === 0)
    return {
      status: "OK",
      reason: neverCommitted && lags.every((p) => p.high === 0) ? `no data yet: ${topic} is empty` : base,
      details,
      samples,
    };
  if (total > t.lagWarn)
    return { status: "WARN", reason: `${base}: above MONITOR_LAG_WARN=${t.lagWarn}`, details, samples };
  if (neverCommitted && members === 0)
    return {
      status: "WARN",
      reason: `${total} messages waiting and group ${group} never committed: start \`capline process\``,
      details,
      samples,
    };
  if (quietSeconds >= t.stallSeconds)
    return {
      status: "WARN",
      reason: `${base}: stalled, no progress for ${Math.round(quietSeconds)} s (MONITOR_STALL_SECONDS=${t.stallSeconds})`,
      details,
      samples,
    };
  if (members === 0) return { status: "WARN", reason: `${base}: nothing consumes it`, details, samples };
  return { status: "OK", reason: base, details, samples };
}

/** Newest event time processed, and how processed counts compare with what ingest sent. */
export async function checkFreshness(ctx: CheckContext): Promise<CheckOutcome> {
  const facts = await opsFacts(ctx);
  const samples: Sample[] = [];
  if (!facts.present)
    return { status: "OK", reason: "no data yet: the ops index does not exist (run `capline setup`)" };
  samples.push({ metric: "events_ingested", value: facts.ingested });
  samples.push({ metric: "events_rejected", value: facts.rejected });
  for (const [sink, n] of Object.entries(facts.processed))
    samples.push({ metric: "events_processed", labels: { sink }, value: n });
  for (const [sink, s] of Object.entries(facts.recentLatency))
    samples.push({ metric: "sink_latency_seconds", labels: { sink }, value: s });
  if (facts.newestProcessedEvent !== undefined)
    samples.push({
      metric: "newest_processed_event_timestamp_seconds",
      value: facts.newestProcessedEvent / 1000,
    });
  const details = {
    ingested: facts.ingested,
    rejected: facts.rejected,
    processed: facts.processed,
    processingDlq: facts.processingDlq,
    lastIngestAt: facts.lastIngestAt ? new Date(facts.lastIngestAt).toISOString() : null,
    lastProcessAt: facts.lastProcessAt ? new Date(facts.lastProcessAt).toISOString() : null,
    newestProcessedEvent: facts.newestProcessedEvent
      ? new Date(facts.newestProcessedEvent).toISOString()
      : null,
    sinkLatencySeconds: facts.recentLatency,
  };
  if (facts.ingested === 0 && Object.keys(facts.processed).length === 0)
    return { status: "OK", reason: "no data yet: no ingest or processing recorded", details, samples };
  const indexed = facts.processed.index ?? 0;
  const archived = facts.processed.archive ?? 0;
  const behind = Math.max(0, facts.ingested - Math.min(indexed, archived) - facts.processingDlq);
  const newest =
    facts.newestProcessedEvent !== undefined
      ? `newest processed event ${new Date(facts.newestProcessedEvent).toISOString()}`
      : "no event processed yet";
  const reason = `${newest}; ${Math.min(indexed, archived)} of ${facts.ingested} ingested events in both sinks`;
  const stall = ctx.options.thresholds.stallSeconds * 1000;
  const now = Date.now();
  const lastActivity = Math.max(facts.lastIngestAt ?? 0, facts.lastProcessAt ?? 0);
  if (behind > 0 && now - lastActivity > stall)
    return {
      status: "WARN",
      reason: `${reason}: ${behind} not processed and nothing recorded for ${ago(now - lastActivity).replace(" ago", "")}`,
      details,
      samples,
    };
  return { status: "OK", reason, details, samples };
}

/** A record the workers sent to the DLQ, as kept in Redis for the monitor (processing/worker.ts). */
export interface RecentPoison {
  at: string;
  topic: string;
  partition: number;
  offset: number;
  reason: string;
  sink: string;
  detail: string;
}

/** How long a sink's refusal keeps the DLQ row at WARN. */
export const RECENT_POISON_MS = 15 * 60_000;

/**
 * What the newest poison records say: how many in the last 15 minutes, by reason, and the newest
 * one's words. Undefined when there is none that recent.
 */
export function describeRecentPoison(records: readonly RecentPoison[], now: number): string | undefined {
  const recent = records.filter((r) => now - Date.parse(r.at) <= RECENT_POISON_MS);
  const newest = recent[0];
  if (!newest) return undefined;
  const byReason = new Map<string, number>();
  for (const r of recent) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
  const counts = [...byReason].map(([reason, n]) => `${n} ${reason}`).join(", ");
  const more = recent.length >= 100 ? " or more" : "";
  return `the sinks sent ${recent.length}${more} records to the DLQ in the last 15 min (${counts}); newest: ${newest.topic}+${newest.partition}+${newest.offset}, ${newest.sink}: ${newest.detail}`;
}

async function recentPoison(ctx: CheckContext): Promise<RecentPoison[]> {
  try {
    const redis = await ctx.clients.redis();
    const raw = await redis.lrange(recentDlqKey(ctx.config.redis.queuePrefix), 0, 99);
    return raw.flatMap((text) => {
      try {
        return [JSON.parse(text) as RecentPoison];
      } catch {
        return [];
      }
    });
  } catch {
    // Redis's own row says why; the DLQ row stands on Kafka's answer alone.
    return [];
  }
}

/**
 * DLQ size, its share of the events topic, its growth since the previous round, and what the
 * sinks refused lately (the newest records the workers sent, with their reasons).
 */
export async function checkDlq(ctx: CheckContext): Promise<CheckOutcome> {
  const { topic, dlqTopic } = ctx.config.kafka;
  const [dlq, events, poison] = await Promise.all([
    topicOffsets(ctx, dlqTopic),
    topicOffsets(ctx, topic),
    recentPoison(ctx),
  ]);
  if (!dlq) return { status: "OK", reason: `no data yet: topic ${dlqTopic} does not exist` };
  const size = messageCount(dlq);
  const eventsSize = events ? messageCount(events) : 0;
  const previous = ctx.state.dlq;
  const growth = previous ? size - previous.total : undefined;
  ctx.state.dlq = { total: size, at: Date.now() };
  const samples: Sample[] = [
    { metric: "dlq_messages", value: size },
    { metric: "topic_messages", labels: { topic: dlqTopic }, value: size },
  ];
  if (events) samples.push({ metric: "topic_messages", labels: { topic }, value: eventsSize });
  if (growth !== undefined) samples.push({ metric: "dlq_growth", value: growth });
  const percent = eventsSize > 0 ? (size / eventsSize) * 100 : size > 0 ? 100 : 0;
  const refused = describeRecentPoison(poison, Date.now());
  const details = {
    dlq: size,
    events: eventsSize,
    percent,
    growth: growth ?? null,
    recent_poison: poison.slice(0, 10),
  };
  const since = growth !== undefined ? `, +${growth} since the previous check` : "";
  // Offsets, not records: each Kafka transaction also leaves a marker that takes one offset.
  const reason = `${size} offsets in ${dlqTopic} (${percent.toFixed(2)}% of ${eventsSize} in ${topic})${since}`;
  const t = ctx.options.thresholds;
  if (refused) return { status: "WARN", reason: `${reason}; ${refused}`, details, samples };
  if (size > 0 && percent > t.dlqWarnPercent)
    return {
      status: "WARN",
      reason: `${reason}: above MONITOR_DLQ_WARN_PERCENT=${t.dlqWarnPercent}`,
      details,
      samples,
    };
  if (growth !== undefined && t.dlqGrowthWarn > 0 && growth > t.dlqGrowthWarn)
    return {
      status: "WARN",
      reason: `${reason}: above MONITOR_DLQ_GROWTH_WARN=${t.dlqGrowthWarn}`,
      details,
      samples,
    };
  return { status: "OK", reason, details, samples };
}
