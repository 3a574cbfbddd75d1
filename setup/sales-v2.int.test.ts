import type { Client } from "@elastic/elasticsearch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aliasName, concreteIndexName } from "../core/names.ts";
import { type IndexName, mappingFor, SALES_V2_FIELDS } from "../core/schema/indices.ts";
import { generateEvents, referenceSales, salesFigures } from "../processing/test/events.ts";
import { allDocuments } from "../processing/test/stores.ts";
import { testConfig } from "../test/support/index.ts";
import { configuredIndexSettings, templateBody, templateName } from "./elasticsearch.ts";
import { runSetup, setupTargets } from "./setup.ts";
import { randomEnv, removeAll, servicesFor } from "./test/fixtures.ts";

/**
 * `capline setup` on a version-1 installation of the sales indices (hourly product documents, no
 * calendar fields, no `state.hours`): it migrates in place, and afterwards every document equals
 * the v2 reference computed from the same events — also when the migration is run again over
 * hourly product documents a crashed run left behind.
 */

type Sales = "sales-daily" | "sales-hourly";

interface V1Doc {
  dimension: string;
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  revenue: number;
  state: { revenue_cents: number };
}

/** What version 1 wrote: four dimensions in both indices, counts and revenue only. */
function v1Documents(events: ReturnType<typeof generateEvents>, hourly: boolean) {
  const out = new Map<string, V1Doc>();
  for (const e of events) {
    const bucket = hourly
      ? `${e.event_time.slice(0, 13)}:00:00.000Z`
      : `${e.event_time.slice(0, 10)}T00:00:00.000Z`;
    for (const [dimension, key] of [
      ["all", "all"],
      ["category", e.category_code ?? "unknown"],
      ["brand", e.brand ?? "unknown"],
      ["product", e.product_id],
    ]) {
      const id = `${bucket}|${dimension}|${key}`;
      const d = (out.get(id) ?? {
        bucket,
        dimension,
        key,
        views: 0,
        carts: 0,
        removes: 0,
        purchases: 0,
        revenue: 0,
        updated_at: "2019-12-01T00:00:00.000Z",
        state: { wm: { "0": 1 }, revenue_cents: 0 },
      }) as V1Doc;
      if (e.event_type === "view") d.views++;
      if (e.event_type === "cart") d.carts++;
      if (e.event_type === "remove_from_cart") d.removes++;
      if (e.event_type === "purchase") {
        d.purchases++;
        d.state.revenue_cents += Math.round(e.price * 100);
        d.revenue = d.state.revenue_cents / 100;
      }
      out.set(id, d);
    }
  }
  return out;
}

function v1Mapping(name: Sales) {
  const properties: Record<string, unknown> = { ...mappingFor(name).properties };
  for (const field of Object.keys(SALES_V2_FIELDS[name])) delete properties[field];
  return { dynamic: "strict" as const, properties };
}

async function write(es: Client, index: string, docs: Map<string, V1Doc>) {
  const operations = [...docs].flatMap(([id, doc]) => [{ index: { _index: index, _id: id } }, doc]);
  const answer = await es.bulk({ operations, refresh: true });
  expect(answer.errors).toBe(false);
}

describe("setup migrates a version-1 installation to index contract v2", () => {
  const env = randomEnv("salesv2");
  const config = testConfig(env);
  const services = servicesFor(env);
  const prefix = config.elasticsearch.indexPrefix;
  const events = generateEvents(3000, 7, 50, 6);
  const hourlyV1 = v1Documents(events, true);

  beforeAll(async () => {
    const settings = configuredIndexSettings(config);
    for (const name of ["sales-daily", "sales-hourly"] as const) {
      const body = templateBody(prefix, name as IndexName, settings);
      await services.es.indices.putIndexTemplate({
        name: templateName(prefix, name),
        ...body,
        template: { ...body.template, mappings: v1Mapping(name) as never },
      });
      await services.es.indices.create({
        index: concreteIndexName(prefix, name),
        mappings: v1Mapping(name) as never,
        aliases: { [aliasName(prefix, name)]: { is_write_index: true } },
      });
    }
    await write(services.es, aliasName(prefix, "sales-daily"), v1Documents(events, false));
    await write(services.es, aliasName(prefix, "sales-hourly"), hourlyV1);
  });

  afterAll(async () => {
    await removeAll(services, config);
    await services.close();
  });

  const expectV2 = async () => {
    for (const [name, ref] of [
      ["sales-daily", referenceSales(events)],
      ["sales-hourly", referenceSales(events, true)],
    ] as const) {
      const docs = await allDocuments<Parameters<typeof salesFigures>[0]>(
        services.es,
        aliasName(prefix, name),
      );
      expect(docs.size, name).toBe(ref.size);
      for (const [id, { brand: _b, category: _c, ...want }] of ref) {
        // Version 1 never stored a product's brand and category: they come with its next events.
        const doc = docs.get(id);
        expect(doc && salesFigures(doc), `${name} ${id}`).toEqual(want);
      }
    }
  };

  it("adds the fields, folds the hourly product documents into state.hours, deletes them, and says so", async () => {
    const productHours = [...hourlyV1.values()].filter((d) => d.dimension === "product").length;
    expect(productHours).toBeGreaterThan(1000);
    const report = await runSetup(services, setupTargets(config));
    expect(report.ok, JSON.stringify(report.items.filter((i) => i.status === "differs"))).toBe(true);
    const migrated = report.items.filter((i) => i.status === "migrated");
    expect(migrated.map((i) => `${i.kind} ${i.name}`).sort()).toEqual(
      [
        `index ${concreteIndexName(prefix, "sales-daily")}`,
        `index ${concreteIndexName(prefix, "sales-hourly")}`,
        `index-template ${templateName(prefix, "sales-daily")}`,
        `index-template ${templateName(prefix, "sales-hourly")}`,
      ].sort(),
    );
    const hourly = migrated.find((i) => i.name === concreteIndexName(prefix, "sales-hourly"));
    expect(hourly?.detail).toContain(`${productHours} hourly product document(s) folded`);
    expect(hourly?.detail).toContain(
      `${hourlyV1.size - productHours + referenceSales(events).size} document(s) given day_of_week`,
    );
    await expectV2();
    const mapping = await services.es.indices.getMapping({ index: aliasName(prefix, "sales-hourly") });
    const props = Object.values(mapping)[0]?.mappings.properties ?? {};
    expect(props.hour_of_day).toEqual({ type: "short" });
    expect(props.day_of_week).toEqual({ type: "short" });

    const again = await runSetup(services, setupTargets(config));
    expect(again.counts.migrated).toBe(0);
    expect(again.counts.differs).toBe(0);
  });

  it("a rerun over hourly product documents a crashed migration left behind changes no figure", async () => {
    // As if a run had folded everything and died before deleting one day's hourly product documents.
    const day = events[0]?.event_time.slice(0, 10) ?? "";
    const left = new Map([...hourlyV1].filter(([id, d]) => d.dimension === "product" && id.startsWith(day)));
    expect(left.size).toBeGreaterThan(10);
    await write(services.es, aliasName(prefix, "sales-hourly"), left);
    const report = await runSetup(services, setupTargets(config));
    expect(report.counts.migrated).toBe(1);
    await expectV2();
  });
});
