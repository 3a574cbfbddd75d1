import { createElasticsearch } from "../core/clients/elasticsearch.ts";
import type { Config } from "../core/config/index.ts";
import { describeError } from "../core/errors.ts";
import { logger } from "../core/logging.ts";
import { aliasName } from "../core/names.ts";
import type { FileSummary } from "./types.ts";

/**
 * One document per ingested file and run in the `ops` index (pipeline operations dashboard). Best
 * effort by design: the ingest's job is Kafka; an Elasticsearch that is down or not set up yet
 * costs a warning (or a debug line when the alias does not exist), never the ingest.
 */
export async function writeOpsRecord(
  config: Config,
  runId: string,
  topic: string,
  summary: FileSummary,
): Promise<void> {
  const log = logger("ingest");
  const alias = aliasName(config.elasticsearch.indexPrefix, "ops");
  const es = createElasticsearch(config, { requestTimeout: 5_000, maxRetries: 1 });
  try {
    if (!(await es.indices.existsAlias({ name: alias }))) {
      log.debug({ alias }, "no ops alias (run capline setup): ingest record skipped");
      return;
    }
    await es.index({
      index: alias,
      id: `ingest-${runId}-${summary.fileId.slice(0, 16)}`,
      document: {
        "@timestamp": new Date().toISOString(),
        kind: "ingest",
        run_id: runId,
        file: summary.file,
        topic,
        status: summary.status,
        rows: summary.rows,
        sent: summary.sent,
        rejected: summary.rejected,
        duplicates: summary.duplicates,
        rejected_by_reason: summary.rejectedByReason,
        seconds: summary.seconds,
        events_per_second: summary.seconds > 0 ? summary.thisRun.sent / summary.seconds : 0,
      },
    });
  } catch (error) {
    log.warn(
      { alias, url: config.elasticsearch.url, error: describeError(error) },
      "could not write the ingest ops record",
    );
  } finally {
    await es.close().catch(() => undefined);
  }
}
