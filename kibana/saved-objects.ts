/**
 * The saved-object envelope Kibana 8.x exports and imports (one JSON object per NDJSON line), and
 * the version stamps capline writes on its objects.
 *
 * Migration versions: Kibana migrates an imported object forward from the version stamped on it,
 * and refuses one stamped newer than it knows. So the stamps are the ones Kibana's own sample
 * data ships with (core 8.8.0; index-pattern 8.0.0; dashboard 8.7.0 with panels written in the
 * 8.11.0 Lens shape), which every 8.x from 8.11 on — 8.19 included — migrates forward.
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
  dashboard: "8.7.0",
};

/** Version stamped on each dashboard panel: the Lens state shape the panels are written in. */
export const PANEL_VERSION = "8.11.0";

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
