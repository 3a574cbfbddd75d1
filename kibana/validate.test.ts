import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../core/config/index.ts";
import { fieldTypes, INDEX_NAMES, type IndexName } from "../core/schema/indices.ts";
import { generateObjects, OBJECTS_FILE, toNdjson } from "./generate.ts";
import type { SavedObject } from "./saved-objects.ts";
import { formatProblem, kqlFields, validateNdjson } from "./validate.ts";

const KIBANA = { kibanaVersion: "8.19.21" };
const shipped = readFileSync(OBJECTS_FILE, "utf8");

/** A fresh, mutable copy of the shipped objects (without the summary line). */
function objects(): SavedObject[] {
  return shipped
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((o) => "type" in o) as unknown as SavedObject[];
}

type Column = { operationType: string; sourceField?: string; params?: Record<string, unknown> };
type Panel = {
  title: string;
  panelIndex: string;
  embeddableConfig: {
    attributes: {
      visualizationType: string;
      state: {
        datasourceStates: { formBased: { layers: Record<string, { columns: Record<string, Column> }> } };
        query: unknown;
        visualization: Record<string, unknown>;
      };
    };
  };
};

function panelsOf(dashboard: SavedObject): Panel[] {
  return JSON.parse(dashboard.attributes.panelsJSON as string) as Panel[];
}

function setPanels(dashboard: SavedObject, panels: Panel[]): void {
  dashboard.attributes.panelsJSON = JSON.stringify(panels);
}

function layerColumns(panel: Panel): Record<string, Column> {
  const layers = panel.embeddableConfig.attributes.state.datasourceStates.formBased.layers;
  return Object.values(layers)[0]?.columns ?? {};
}

function find(list: SavedObject[], type: string, id: string): SavedObject {
  const o = list.find((x) => x.type === type && x.id === id);
  if (!o) throw new Error(`test setup: no ${type} ${id}`);
  return o;
}

function validate(list: SavedObject[]) {
  return validateNdjson(toNdjson(list), KIBANA);
}

function messages(list: SavedObject[]): string[] {
  return validate(list).problems.map(formatProblem);
}

describe("shipped Kibana objects", () => {
  it("are exactly what the TypeScript definitions generate (run `capline kibana generate` after a change)", () => {
    expect(shipped).toBe(toNdjson(generateObjects()));
  });

  it("generate the same bytes twice", () => {
    expect(toNdjson(generateObjects())).toBe(toNdjson(generateObjects()));
  });

  it("validate with no problem: 5 data views and the 4 dashboards", () => {
    const report = validateNdjson(shipped, KIBANA);
    expect(report.problems.map(formatProblem)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.counts).toEqual({ "index-pattern": 5, dashboard: 4 });
    const titles = objects()
      .filter((o) => o.type === "dashboard")
      .map((o) => o.attributes.title);
    expect(titles).toEqual([
      "capline · Customer overview",
      "capline · Sales and revenue",
      "capline · Conversion funnel",
      "capline · Pipeline operations",
    ]);
  });

  it("end with the export summary line Kibana writes, counting the objects", () => {
    const last = JSON.parse(shipped.trimEnd().split("\n").at(-1) ?? "{}");
    expect(last).toEqual({
      excludedObjects: [],
      excludedObjectsCount: 0,
      exportedCount: 9,
      missingRefCount: 0,
      missingReferences: [],
    });
  });

  // Independent of the validator: walk the JSON and look every field up in the mappings.
  it("use only fields of capline's mappings, with matching types", () => {
    const list = objects();
    const views = new Map(list.filter((o) => o.type === "index-pattern").map((o) => [o.id, o]));
    let checked = 0;
    for (const dashboard of list.filter((o) => o.type === "dashboard")) {
      for (const panel of panelsOf(dashboard)) {
        const layers = panel.embeddableConfig.attributes.state.datasourceStates.formBased.layers;
        for (const layerId of Object.keys(layers)) {
          const ref = dashboard.references.find(
            (r) => r.name === `${panel.panelIndex}:indexpattern-datasource-layer-${layerId}`,
          );
          expect(ref, `${dashboard.id} / ${panel.title}`).toBeDefined();
          const view = views.get(ref?.id ?? "");
          expect(view, `data view ${ref?.id}`).toBeDefined();
          const title = String(view?.attributes.title);
          const index = INDEX_NAMES.find((n) => title === `capline-${n}`) as IndexName;
          const types = fieldTypes(index);
          expect(JSON.parse(String(view?.attributes.runtimeFieldMap)), `${title}: runtime fields`).toEqual(
            {},
          );
          for (const column of Object.values(layerColumns(panel))) {
            const field = column.sourceField as string | undefined;
            if (!field || field === "___records___") continue;
            const type = types.get(field);
            expect(type, `${panel.title}: ${field}`).toBeDefined();
            if (["sum", "average", "range"].includes(column.operationType))
              expect(["long", "integer", "short", "double"], `${panel.title}: ${field}`).toContain(type);
            if (column.operationType === "date_histogram") expect(type).toBe("date");
            if (column.operationType === "terms")
              expect(["keyword", "long", "integer", "short"]).toContain(type);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
    for (const view of views.values()) {
      const title = String(view.attributes.title);
      const index = INDEX_NAMES.find((n) => title === `capline-${n}`) as IndexName;
      expect(fieldTypes(index).get(String(view.attributes.timeFieldName)), view.id).toBe("date");
    }
  });

  it("put every dashboard panel by value, with its layer reference wired twice as Kibana does", () => {
    for (const dashboard of objects().filter((o) => o.type === "dashboard")) {
      expect(dashboard.typeMigrationVersion).toBe("8.9.0");
      expect(dashboard.coreMigrationVersion).toBe("8.8.0");
      for (const panel of panelsOf(dashboard)) {
        const attrs = panel.embeddableConfig.attributes as unknown as {
          references: { name: string; id: string }[];
          state: { datasourceStates: { formBased: { layers: Record<string, unknown> } } };
        };
        const layerId = Object.keys(attrs.state.datasourceStates.formBased.layers)[0];
        const inner = attrs.references.find((r) => r.name === `indexpattern-datasource-layer-${layerId}`);
        const outer = dashboard.references.find(
          (r) => r.name === `${panel.panelIndex}:indexpattern-datasource-layer-${layerId}`,
        );
        expect(inner?.id).toBeDefined();
        expect(outer?.id).toBe(inner?.id);
      }
    }
  });
});

describe("kibana validate refuses broken copies", () => {
  it("a misspelled field, naming the dashboard, the panel and the field", () => {
    const list = objects();
    const sales = find(list, "dashboard", "capline-sales");
    const panels = panelsOf(sales);
    const panel = panels.find((p) => p.title === "Revenue by category (top 15)");
    const column = Object.values(layerColumns(panel as Panel)).find((c) => c.operationType === "sum");
    expect(column?.sourceField).toBe("revenue");
    if (column) column.sourceField = "revenu";
    setPanels(sales, panels);
    const out = messages(list);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('dashboard "capline-sales" (capline · Sales and revenue)');
    expect(out[0]).toContain('panel 2 "Revenue by category (top 15)"');
    expect(out[0]).toContain('field "revenu" does not exist');
  });

  it("a sum over a keyword", () => {
    const list = objects();
    const overview = find(list, "dashboard", "capline-customer-overview");
    const panels = panelsOf(overview);
    const panel = panels.find((p) => p.title === "Revenue") as Panel;
    const column = Object.values(layerColumns(panel)).find((c) => c.operationType === "sum");
    if (column) column.sourceField = "segment";
    setPanels(overview, panels);
    const out = messages(list);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('dashboard "capline-customer-overview"');
    expect(out[0]).toContain('sum over field "segment" (keyword)');
    expect(out[0]).toContain("needs a numeric field");
  });

  it("a date histogram over a keyword and a terms split over an object", () => {
    const list = objects();
    const funnel = find(list, "dashboard", "capline-funnel");
    const panels = panelsOf(funnel);
    const overTime = panels.find((p) => p.title === "Views, carts and purchases over time") as Panel;
    const histogram = Object.values(layerColumns(overTime)).find((c) => c.operationType === "date_histogram");
    if (histogram) histogram.sourceField = "dimension";
    const byCategory = panels.find((p) => p.title.startsWith("Funnel by category")) as Panel;
    const terms = Object.values(layerColumns(byCategory)).find((c) => c.operationType === "terms");
    if (terms) terms.sourceField = "state";
    setPanels(funnel, panels);
    const out = messages(list).join("\n");
    expect(out).toContain(
      'date_histogram over field "dimension" (keyword) — date_histogram needs a date field',
    );
    expect(out).toContain('terms over field "state" (object)');
  });

  it("a dangling reference, naming the reference and the missing data view", () => {
    const list = objects();
    const ops = find(list, "dashboard", "capline-pipeline-ops");
    const ref = ops.references[0];
    if (ref) ref.id = "capline-opz";
    const out = messages(list).join("\n");
    expect(out).toContain('dashboard "capline-pipeline-ops" (capline · Pipeline operations)');
    expect(out).toContain(
      `reference "${ref?.name}" points to index-pattern "capline-opz", which is not in the file`,
    );
  });

  it("a data view missing from the file", () => {
    const list = objects().filter((o) => o.id !== "capline-sales-hourly");
    const out = messages(list).join("\n");
    expect(out).toContain('points to index-pattern "capline-sales-hourly", which is not in the file');
    expect(out).toContain('panel 5 "Revenue by hour of day × day of week (UTC)"');
  });

  it("a duplicate id", () => {
    const list = objects();
    const first = list[0] as SavedObject;
    list.push(structuredClone(first));
    const out = messages(list);
    expect(out.join("\n")).toContain(
      `duplicate id: line 10 repeats the index-pattern "${first.id}" of line 1`,
    );
  });

  it("a data view whose time field is not a date, or not a field at all", () => {
    const list = objects();
    find(list, "index-pattern", "capline-profiles").attributes.timeFieldName = "segment";
    find(list, "index-pattern", "capline-ops").attributes.timeFieldName = "timestamp";
    const out = messages(list);
    expect(out).toContain(
      'index-pattern "capline-profiles" (capline-profiles): time field "segment" is keyword, not a date',
    );
    expect(out).toContain(
      'index-pattern "capline-ops" (capline-ops): time field "timestamp" is not a field of ops',
    );
  });

  it("a runtime field (a script per document) and a panel using a field its index lacks", () => {
    const list = objects();
    const hourly = find(list, "index-pattern", "capline-sales-hourly");
    hourly.attributes.runtimeFieldMap = JSON.stringify({
      hour: { type: "long", script: { source: "emit(doc['bucket'].value.getHour());" } },
    });
    // The hour × weekday heatmap pointed at the daily data view, which has no hour_of_day.
    const sales = find(list, "dashboard", "capline-sales");
    sales.references = sales.references.map((r) =>
      r.id === "capline-sales-hourly" ? { ...r, id: "capline-sales-daily" } : r,
    );
    const out = messages(list).join("\n");
    expect(out).toContain('runtime field "hour": capline\'s data views have no runtime fields');
    expect(out).toContain('field "hour_of_day" does not exist in the data view\'s mapping');
  });

  it("Kibana's migration and format rules: a dashboard stamped below the last Lens panel migration, a histogram with a range parentFormat", () => {
    const list = objects();
    const overview = find(list, "dashboard", "capline-customer-overview");
    overview.typeMigrationVersion = "8.7.0";
    const panels = panelsOf(overview);
    const histogram = Object.values(layerColumns(panels[5] as Panel)).find(
      (c) => c.operationType === "range",
    );
    expect(histogram).toBeDefined();
    if (histogram)
      histogram.params = {
        ...histogram.params,
        parentFormat: { id: "range", params: { template: "arrow_right" } },
      };
    overview.attributes.panelsJSON = JSON.stringify(panels);
    const out = messages(list).join("\n");
    expect(out).toContain(
      "typeMigrationVersion 8.7.0: Kibana would run the Lens panel migration(s) 8.9.0 on every panel",
    );
    expect(out).toContain("a histogram (range column in histogram mode) has parentFormat");
    // The shipped objects pass both rules.
    expect(messages(objects())).toEqual([]);
  });

  it("a panel query on a field that does not exist", () => {
    const list = objects();
    const sales = find(list, "dashboard", "capline-sales");
    const panels = panelsOf(sales);
    (panels[0] as Panel).embeddableConfig.attributes.state.query = {
      query: 'dimensoin : "all"',
      language: "kuery",
    };
    setPanels(sales, panels);
    expect(messages(list).join("\n")).toContain(
      'uses field "dimensoin", which is not in the data view\'s mappings',
    );
  });

  it("a visualization showing a column its layer lacks, and an unknown visualization type", () => {
    const list = objects();
    const overview = find(list, "dashboard", "capline-customer-overview");
    const panels = panelsOf(overview);
    const customers = panels[0] as Panel;
    customers.embeddableConfig.attributes.state.visualization.metricAccessor = "no-such-column";
    (panels[1] as Panel).embeddableConfig.attributes.visualizationType = "lnsGauge3D";
    setPanels(overview, panels);
    const out = messages(list).join("\n");
    expect(out).toContain('visualization shows column "no-such-column", which the layer lacks');
    expect(out).toContain('visualizationType "lnsGauge3D" is not one of');
  });

  it("objects stamped newer than the target Kibana, and a broken panelsJSON", () => {
    const list = objects();
    (list[0] as SavedObject).coreMigrationVersion = "9.1.0";
    find(list, "dashboard", "capline-funnel").attributes.panelsJSON = "[{";
    const out = messages(list).join("\n");
    expect(out).toContain("coreMigrationVersion 9.1.0 is newer than Kibana 8.19.21");
    expect(out).toContain(
      'dashboard "capline-funnel" (capline · Conversion funnel): attributes.panelsJSON is not valid JSON',
    );
  });

  it("a line that is not JSON, and a summary that miscounts", () => {
    const text = `${shipped.split("\n").slice(0, 9).join("\n")}\n{"type": "dashboard", \n{"exportedCount":3}\n`;
    const out = validateNdjson(text, KIBANA).problems.map(formatProblem);
    expect(out[0]).toMatch(/^line 10: not valid JSON/);
    expect(out).toContain("line 11: the export summary says exportedCount 3, but the file holds 9 objects");
  });
});

describe("kqlFields", () => {
  it("finds compared fields, not quoted values or boolean operators", () => {
    expect(kqlFields('dimension : "all" and purchases > 0 or not kind: "a : b"')).toEqual([
      "dimension",
      "purchases",
      "kind",
    ]);
    expect(kqlFields("rejected_by_reason.bad_price >= 1")).toEqual(["rejected_by_reason.bad_price"]);
  });
});

describe("capline kibana validate (CLI)", () => {
  const dir = mkdtempSync(join(tmpdir(), "capline-kibana-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [join(PROJECT_ROOT, "bin", "capline.mjs"), "kibana", "validate", ...args], {
      encoding: "utf8",
      env: { ...process.env, LOG_LEVEL: "silent" },
    });

  it("exits 0 on the shipped objects", () => {
    const r = run();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("9 saved objects valid (5 index-pattern, 4 dashboard)");
  });

  it("exits 2 on a broken copy and names the object and the field, in text and JSON", () => {
    const list = objects();
    const sales = find(list, "dashboard", "capline-sales");
    const panels = panelsOf(sales);
    const column = Object.values(layerColumns(panels[0] as Panel)).find((c) => c.sourceField === "revenue");
    if (column) column.sourceField = "key";
    setPanels(sales, panels);
    const file = join(dir, "broken.ndjson");
    writeFileSync(file, toNdjson(list));
    const r = run("--file", file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('dashboard "capline-sales" (capline · Sales and revenue)');
    expect(r.stderr).toContain('sum over field "key" (keyword)');
    const j = run("--file", file, "--json");
    expect(j.status).toBe(2);
    const report = JSON.parse(j.stdout);
    expect(report.ok).toBe(false);
    expect(report.problems[0].object).toEqual({
      type: "dashboard",
      id: "capline-sales",
      title: "capline · Sales and revenue",
    });
  });

  it("exits 2 naming the file when it does not exist", () => {
    const r = run("--file", join(dir, "absent.ndjson"));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("absent.ndjson does not exist");
  });
});
