import type { Config } from "../core/config/index.ts";
import {
  type CheckContext,
  CheckTimeout,
  Clients,
  type MonitorState,
  reasonOf,
  shownUrl,
} from "./checks/context.ts";
import { checkElasticsearch, MAX_MAP_COUNT_HINT } from "./checks/elasticsearch.ts";
import { checkHdfs } from "./checks/hdfs.ts";
import { checkKafka } from "./checks/kafka.ts";
import { checkKibana } from "./checks/kibana.ts";
import { checkMinio } from "./checks/minio.ts";
import { checkDlq, checkFreshness, checkLag } from "./checks/pipeline.ts";
import { checkBullmq, checkRedis } from "./checks/redis.ts";
import type { MonitorOptions } from "./options.ts";
import { buildReport } from "./status.ts";
import type { CheckName, CheckOutcome, CheckResult, MonitorReport, Status } from "./types.ts";

export interface CheckDefinition {
  name: CheckName;
  /** What the row links to. */
  url: (config: Config) => string;
  /** Counted by /readyz. */
  critical: (config: Config) => boolean;
  /** The status of a check that threw or timed out: DOWN for a service, WARN where it only measures. */
  onError: (options: MonitorOptions) => Exclude<Status, "SKIP">;
  /** Advice shown when the check is DOWN. */
  hint?: string;
  run: (ctx: CheckContext) => Promise<CheckOutcome>;
}

const STACK_HINT = "`npx capline stack status` (local stack) or `docker compose ps` shows what runs.";

/** Every check, in table order. */
export const CHECKS: readonly CheckDefinition[] = [
  {
    name: "kafka",
    url: (c) => c.kafka.brokers.join(","),
    critical: () => true,
    onError: () => "DOWN",
    hint: `${STACK_HINT} In Compose, host-side commands use the 127.0.0.1 listener (KAFKA_BROKERS=127.0.0.1:9092).`,
    run: checkKafka,
  },
  {
    name: "elasticsearch",
    url: (c) => c.elasticsearch.url,
    critical: () => true,
    onError: () => "DOWN",
    hint: MAX_MAP_COUNT_HINT,
    run: checkElasticsearch,
  },
  {
    name: "minio",
    url: (c) => c.minio.endpoint,
    critical: (c) => c.archive.minio,
    onError: () => "DOWN",
    hint: STACK_HINT,
    run: checkMinio,
  },
  {
    name: "hdfs",
    url: (c) => c.hdfs.webhdfsUrl,
    critical: (c) => c.archive.hdfs,
    onError: () => "DOWN",
    hint: STACK_HINT,
    run: checkHdfs,
  },
  {
    name: "redis",
    url: (c) => c.redis.url,
    critical: () => true,
    onError: () => "DOWN",
    hint: STACK_HINT,
    run: checkRedis,
  },
  {
    name: "bullmq",
    url: (c) => c.redis.url,
    critical: () => false,
    onError: () => "WARN",
    run: checkBullmq,
  },
  {
    name: "kibana",
    url: (c) => c.kibana.url,
    critical: () => false,
    onError: (o) => (o.kibana === "required" ? "DOWN" : "WARN"),
    run: checkKibana,
  },
  {
    name: "pipeline.lag",
    url: (c) => c.kafka.brokers.join(","),
    critical: () => false,
    onError: () => "WARN",
    run: checkLag,
  },
  {
    name: "pipeline.freshness",
    url: (c) => c.elasticsearch.url,
    critical: () => false,
    onError: () => "WARN",
    run: checkFreshness,
  },
  {
    name: "pipeline.dlq",
    url: (c) => c.kafka.brokers.join(","),
    critical: () => false,
    onError: () => "WARN",
    run: checkDlq,
  },
];

async function runOne(
  def: CheckDefinition,
  config: Config,
  options: MonitorOptions,
  state: MonitorState,
  clients: Clients,
): Promise<CheckResult> {
  const base = { name: def.name, url: shownUrl(config, def.url(config)), critical: def.critical(config) };
  const skipped = options.skip.get(def.name);
  if (skipped !== undefined)
    return {
      ...base,
      critical: false,
      status: "SKIP",
      reason: skipped,
      durationMs: 0,
      details: {},
      samples: [],
    };
  const controller = new AbortController();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  // The race, not the clients' own timeouts, is what guarantees the bound: a library that ignores
  // the abort signal still cannot keep the row waiting.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new CheckTimeout(options.timeoutMs);
      controller.abort(error);
      reject(error);
    }, options.timeoutMs);
  });
  let outcome: CheckOutcome;
  try {
    const ctx: CheckContext = { config, options, state, signal: controller.signal, clients };
    outcome = await Promise.race([def.run(ctx), deadline]);
  } catch (error) {
    const status = def.onError(options);
    const reason = reasonOf(error, options.timeoutMs);
    outcome = {
      status,
      reason: status === "WARN" ? `cannot measure: ${reason}` : reason,
      ...(status === "DOWN" && def.hint ? { hint: def.hint } : {}),
    };
  } finally {
    clearTimeout(timer);
  }
  return {
    ...base,
    ...outcome,
    durationMs: Math.round(performance.now() - started),
    details: outcome.details ?? {},
    samples: outcome.samples ?? [],
  };
}

/**
 * One round: every check at once, each bounded by the timeout, then every connection closed.
 * `state` carries what a long-running monitor remembers between rounds.
 */
export async function runChecks(
  config: Config,
  options: MonitorOptions,
  state: MonitorState = {},
  checks: readonly CheckDefinition[] = CHECKS,
): Promise<MonitorReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const clients = new Clients(config, options.timeoutMs);
  let results: CheckResult[];
  try {
    results = await Promise.all(checks.map((def) => runOne(def, config, options, state, clients)));
  } finally {
    await clients.close();
  }
  return buildReport(results, startedAt, performance.now() - t0);
}
