import type { Config } from "../core/config/index.ts";
import { configuredIndexSettings, ensureIndices, type IndexSettings } from "./elasticsearch.ts";
import { ensureHdfsRoot } from "./hdfs.ts";
import { ensureTopics } from "./kafka.ts";
import { ensureBucket } from "./minio.ts";
import { type TopicSpec, topicSpecs } from "./names.ts";
import { type SetupItem, type SetupReport, summarize } from "./report.ts";
import { withService } from "./service-errors.ts";
import type { Services } from "./services.ts";

/** What setup creates; tests pass their own random names. */
export interface SetupTargets {
  topics: TopicSpec[];
  indexPrefix: string;
  indexSettings: IndexSettings;
  bucket: string;
  region: string;
  hdfsRoot: string;
}

export function setupTargets(config: Config): SetupTargets {
  return {
    topics: topicSpecs(config),
    indexPrefix: config.elasticsearch.indexPrefix,
    indexSettings: configuredIndexSettings(config),
    bucket: config.minio.bucket,
    region: config.minio.region,
    hdfsRoot: config.hdfs.root,
  };
}

/**
 * Creates what is missing, store by store, and reports every item as created, unchanged or
 * differs. Nothing that exists is ever changed. A store that does not answer stops the run with
 * a ServiceUnavailableError naming it (what was created before stays; a rerun completes it).
 */
export async function runSetup(services: Services, targets: SetupTargets): Promise<SetupReport> {
  const { urls } = services;
  const items: SetupItem[] = [];
  const admin = await services.admin();
  items.push(
    ...(await withService("Kafka", urls.kafka, "create topics", () => ensureTopics(admin, targets.topics))),
  );
  items.push(
    ...(await withService("Elasticsearch", urls.elasticsearch, "create index templates and indices", () =>
      ensureIndices(services.es, targets.indexPrefix, targets.indexSettings),
    )),
  );
  items.push(
    await withService("MinIO", urls.minio, `create bucket ${targets.bucket}`, () =>
      ensureBucket(services.minio, targets.bucket, targets.region),
    ),
  );
  items.push(await ensureHdfsRoot(services.hdfs, targets.hdfsRoot));
  return summarize(items);
}
