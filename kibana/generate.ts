import { join } from "node:path";
import { PROJECT_ROOT } from "../core/config/index.ts";
import { CaplineError } from "../core/errors.ts";
import { dashboardDefs } from "./dashboards.ts";
import { dataViewDefs, dataViewFields, dataViewObject, lensKind } from "./data-views.ts";
import { buildPanel, type DashboardDef } from "./lens.ts";
import {
  CORE_MIGRATION_VERSION,
  type ExportSummary,
  PANEL_VERSION,
  type SavedObject,
  type SavedObjectReference,
  TYPE_MIGRATION_VERSIONS,
} from "./saved-objects.ts";

/** The committed export; `capline kibana generate` rewrites it, a unit test keeps it in step. */
export const OBJECTS_FILE = join(PROJECT_ROOT, "kibana", "objects", "capline.ndjson");
export const DEFAULT_PREFIX = "capline";

function dashboardObject(
  def: DashboardDef,
  kindOf: (dataView: string, field: string) => string,
): SavedObject {
  const panels: Record<string, unknown>[] = [];
  const references: SavedObjectReference[] = [];
  for (const panelDef of def.panels) {
    const built = buildPanel(
      def.id,
      panelDef,
      (field) => lensKind(kindOf(panelDef.dataView, field)),
      PANEL_VERSION,
    );
    panels.push(built.panel);
    references.push(...built.references);
  }
  return {
    attributes: {
      title: def.title,
      description: def.description,
      timeRestore: true,
      timeFrom: def.timeFrom,
      timeTo: def.timeTo,
      refreshInterval: { pause: true, value: 60000 },
      optionsJSON: JSON.stringify({
        useMargins: true,
        syncColors: false,
        syncCursor: true,
        syncTooltips: false,
        hidePanelTitles: false,
      }),
      panelsJSON: JSON.stringify(panels),
      kibanaSavedObjectMeta: {
        searchSourceJSON: JSON.stringify({ query: { query: "", language: "kuery" }, filter: [] }),
      },
      version: 1,
    },
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    id: def.id,
    managed: false,
    references,
    type: "dashboard",
    typeMigrationVersion: TYPE_MIGRATION_VERSIONS.dashboard ?? "8.9.0",
  };
}

/** Every capline saved object for an index prefix: data views first, then dashboards. */
export function generateObjects(prefix: string = DEFAULT_PREFIX): SavedObject[] {
  const views = dataViewDefs(prefix);
  const fieldsByView = new Map(views.map((v) => [v.id, dataViewFields(v)]));
  const kindOf = (dataView: string, field: string): string => {
    const fields = fieldsByView.get(dataView);
    if (!fields)
      throw new CaplineError("INTERNAL", `panel reads data view "${dataView}", which is not defined`);
    return fields.get(field) ?? "keyword";
  };
  return [
    ...views.map((v) => dataViewObject(prefix, v)),
    ...dashboardDefs(prefix).map((d) => dashboardObject(d, kindOf)),
  ];
}

/** NDJSON as Kibana exports it: one object per line, then the export summary line. */
export function toNdjson(objects: readonly SavedObject[]): string {
  const summary: ExportSummary = {
    excludedObjects: [],
    excludedObjectsCount: 0,
    exportedCount: objects.length,
    missingRefCount: 0,
    missingReferences: [],
  };
  return `${[...objects, summary].map((o) => JSON.stringify(o)).join("\n")}\n`;
}
