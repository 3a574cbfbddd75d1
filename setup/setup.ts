import type { Config } from "../core/config/index.ts";
import { concreteIndexName } from "../core/names.ts";
import { hdfsCompactStore, minioCompactStore } from "../processing/compact.ts";
import { LakeReader } from "../processing/lake-reader.ts";
import { configuredIndexSettings, ensureIndices, type IndexSettings } from "./elasticsearch.ts";
import { ensureHdfsRoot } from "./hdfs.ts";
import { ensureTopics } from "./kafka.ts";
import { ensureBucket } from "./minio.ts";
import { type TopicSpec, topicSpecs } from "./names.ts";
import { backfillPurchaseSets } from "./profiles-v2.ts";
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
  /** The events topic and the lake stores archived to: where the profiles' migration reads history. */
  eventsTopic: string;
  archive: { minio: boolean; hdfs: boolean };
}

export function setupTargets(config: Config): SetupTargets {
  return {
    topics: topicSpecs(config),
    indexPrefix: config.elasticsearch.indexPrefix,
    indexSettings: configuredIndexSettings(config),
    bucket: config.minio.bucket,
    region: config.minio.region,
    hdfsRoot: config.hdfs.root,
    eventsTopic: config.kafka.topic,
    archive: { ...config.archive },
  };
}

/** The lake store the pipeline archives to (MinIO first), for reading the event history. */
function lakeOf(services: Services, targets: SetupTargets): LakeReader | undefined {
  if (targets.archive.minio)
    return new LakeReader(
      minioCompactStore(services.minio, targets.bucket),
      targets.eventsTopic,
      services.urls.minio,
    );
  if (targets.archive.hdfs)
    return new LakeReader(
      hdfsCompactStore(services.hdfs, targets.hdfsRoot),
      targets.eventsTopic,
      services.urls.hdfs,
    );
  return undefined;
}

/**
 * Creates what is missing, store by store, and reports every item as created, unchanged, migrated
 * or differs. Nothing that exists is changed, except by the in-place migrations to the current
 * index contract (fields an earlier version lacked are added; the sales documents are moved and
 * the profiles' purchase sets filled from the lake, setup/sales-v2.ts and setup/profiles-v2.ts). A store that does not answer stops the run with
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
  const profiles = items.find(
    (i) => i.kind === "index" && i.name === concreteIndexName(targets.indexPrefix, "profiles"),
  );
  if (profiles && profiles.status !== "differs") {
    const moved = await withService(
      "Elasticsearch",
      urls.elasticsearch,
      "fill the profiles' purchase sets",
      () => backfillPurchaseSets(services.es, targets.indexPrefix, lakeOf(services, targets)),
    );
    if (moved.filled > 0) {
      const what = `index contract v2: ${moved.filled} profile(s) given purchased_categories/purchased_brands from the lake`;
      profiles.status = "migrated";
      profiles.detail = profiles.detail ? `${profiles.detail}; ${what}` : what;
    }
    if (moved.left > 0) {
      profiles.status = "differs";
      profiles.differences.push(
        `index contract v2: ${moved.left} purchaser profile(s) still lack purchased_categories/purchased_brands: ` +
          "the lake does not hold all their purchases (processing not caught up, or the lake switched off); " +
          "run `capline process --until-idle`, then `capline setup` again",
      );
    }
  }
  return summarize(items);
}
