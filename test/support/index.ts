import { randomUUID } from "node:crypto";
import { type Config, type ConfigVariable, loadConfig } from "../../core/config/index.ts";

export { isolatedNames } from "../../core/names.ts";

/**
 * Small helpers every test may use. Tests share the running stack, so each one names its own
 * topic / index / bucket / queue / HDFS path with `uniqueName` and removes it afterwards.
 */

/**
 * A fresh name such as `ingest-3f9a1c0b7d2e4a61`: lowercase letters, digits and '-', at most 63
 * characters, starting with a letter. Valid as a Kafka topic, an Elasticsearch index, an S3 bucket,
 * a BullMQ queue and an HDFS path segment.
 */
export function uniqueName(prefix = "t"): string {
  let clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "");
  if (!/^[a-z]/.test(clean)) clean = `t-${clean}`.replace(/-$/, "");
  const suffix = randomUUID().replace(/-/g, "").slice(0, 16);
  return `${clean.slice(0, 63 - suffix.length - 1)}-${suffix}`;
}

/**
 * The configuration tests run with: `.env` < `.env.local` < environment < `overrides`, validated
 * as the CLI does it.
 */
export function testConfig(overrides: Partial<Record<ConfigVariable, string>> = {}): Config {
  return loadConfig({ overrides });
}
