import { aliasName } from "../../core/names.ts";
import { INDEX_NAMES } from "../../core/schema/indices.ts";
import type { CheckOutcome, Sample } from "../types.ts";
import type { CheckContext } from "./context.ts";

/** Shown when Elasticsearch does not answer: the most common reason it dies at start in Docker. */
export const MAX_MAP_COUNT_HINT =
  "Elasticsearch in Docker needs vm.max_map_count >= 262144: `sudo sysctl -w vm.max_map_count=262144` " +
  "(WSL2: run it in the WSL VM, e.g. `wsl -d docker-desktop -u root sysctl -w vm.max_map_count=262144`; " +
  "see docs/docker.md to keep it). `docker compose logs elasticsearch` shows the check that failed.";

function statusCode(error: unknown): number | undefined {
  const meta = (error as { meta?: { statusCode?: number } }).meta;
  return meta?.statusCode;
}

/** Cluster health, and each capline index (through its alias) with its document count. */
export async function checkElasticsearch(ctx: CheckContext): Promise<CheckOutcome> {
  const es = ctx.clients.elasticsearch();
  const opts = { signal: ctx.signal };
  const prefix = ctx.config.elasticsearch.indexPrefix;
  // capline's own indices decide the status: another application's yellow index on a shared
  // cluster is reported, not held against the pipeline.
  const [cluster, health] = await Promise.all([
    es.cluster.health({}, opts),
    es.cluster.health({ index: `${prefix}-*`, expand_wildcards: "open" }, opts),
  ]);
  const counts = await Promise.all(
    INDEX_NAMES.map(async (name) => {
      const alias = aliasName(prefix, name);
      try {
        const answer = await es.count({ index: alias }, opts);
        return { name, alias, count: answer.count };
      } catch (error) {
        if (statusCode(error) === 404) return { name, alias, count: undefined };
        throw error;
      }
    }),
  );
  const missing = counts.filter((c) => c.count === undefined).map((c) => c.alias);
  const samples: Sample[] = counts
    .filter((c) => c.count !== undefined)
    .map((c) => ({ metric: "elasticsearch_docs", labels: { index: c.alias }, value: c.count ?? 0 }));
  const docs = counts
    .filter((c) => c.count !== undefined)
    .map((c) => `${c.name} ${c.count}`)
    .join(", ");
  const nodes = `${health.number_of_nodes} node${health.number_of_nodes === 1 ? "" : "s"}`;
  const clusterNote = cluster.status === health.status ? "" : ` (cluster ${cluster.status})`;
  const label = `${prefix} indices ${health.status}${clusterNote}, ${nodes}`;
  const details = {
    cluster: health.cluster_name,
    clusterHealth: cluster.status,
    health: health.status,
    nodes: health.number_of_nodes,
    unassignedShards: health.unassigned_shards,
    documents: Object.fromEntries(counts.map((c) => [c.alias, c.count ?? null])),
  };
  if (health.status === "red")
    return {
      status: "DOWN",
      reason: `${label}: ${health.unassigned_shards} unassigned shards, some primaries are missing`,
      details,
      samples,
    };
  if (missing.length > 0)
    return {
      status: "WARN",
      blocking: true,
      reason: `${label}; missing ${missing.join(", ")}: run \`capline setup\``,
      details,
      samples,
    };
  if (health.status === "yellow")
    return {
      status: "WARN",
      reason: `${label}: ${health.unassigned_shards} replica shards unassigned (one node needs ELASTICSEARCH_REPLICAS=0); docs: ${docs}`,
      details,
      samples,
    };
  return { status: "OK", reason: `${label}; docs: ${docs}`, details, samples };
}
