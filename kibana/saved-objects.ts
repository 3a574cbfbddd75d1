/**
 * The saved-object envelope Kibana 8.x exports and imports (one JSON object per NDJSON line), and
 * the version stamps capline writes on its objects.
 *
 * Migration versions, as Kibana's source applies them (docs/kibana.md cites the files): an imported
 * object is migrated forward from its `typeMigrationVersion`, every migration of a newer version
 * running on it, and one stamped newer than the running Kibana knows is refused. A dashboard's
 * migrations include, per version, the Lens embeddable migrations of its by-value panels
 * (x-pack/plugins/lens/server/embeddable/make_lens_embeddable_factory.ts) — the panel-level
 * `version` plays no part. The newest of those is 8.9.0 (`commonMigrateMetricFormatter`: it adds
 * `compact: true` to formatted metrics, so a metric tile shows "1.2M"). capline writes its panels in
 * the shape after that migration, so dashboards are stamped 8.9.0 and no Lens migration runs on
 * them: what is in the file is what Kibana shows.
 */

export interface SavedObjectReference {
  name: string;
  type: string;
  id: string;
}

export interface SavedObject<A = Record<string, unknown>> {
  attributes: A;
  coreMigrationVersion: string;
  id: string;
  managed: boolean;
  references: SavedObjectReference[];
  type: string;
  typeMigrationVersion: string;
}

/** The trailing line of a Kibana export. */
export interface ExportSummary {
  excludedObjects: unknown[];
  excludedObjectsCount: number;
  exportedCount: number;
  missingRefCount: number;
  missingReferences: unknown[];
}

export const CORE_MIGRATION_VERSION = "8.8.0";

/** Highest type migration version capline writes and vouches for, per saved-object type. */
export const TYPE_MIGRATION_VERSIONS: Readonly<Record<string, string>> = {
  "index-pattern": "8.0.0",
  dashboard: "8.9.0",
};

/**
 * The versions of the Lens by-value (embeddable) migrations a dashboard runs on its Lens panels,
 * from x-pack/plugins/lens/server/embeddable/make_lens_embeddable_factory.ts (Kibana 8.x): a
 * dashboard stamped below one of them has it applied to every panel on import.
 */
export const LENS_BY_VALUE_MIGRATIONS = [
  "7.13.1",
  "7.14.0",
  "7.15.0",
  "7.16.0",
  "8.1.0",
  "8.2.0",
  "8.3.0",
  "8.5.0",
  "8.6.0",
  "8.9.0",
] as const;

/** Version stamped on each dashboard panel: the Lens state shape the panels are written in. */
export const PANEL_VERSION = "8.9.0";

/** Compares dotted versions numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export const SEMVER = /^\d+\.\d+\.\d+$/;
