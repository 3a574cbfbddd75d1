import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aliasName, concreteIndexName } from "../core/names.ts";
import { mappingFor, OPS_FORGET_FIELDS } from "../core/schema/indices.ts";
import { testConfig } from "../test/support/index.ts";
import { configuredIndexSettings, templateBody, templateName } from "./elasticsearch.ts";
import { runSetup, setupTargets } from "./setup.ts";
import { randomEnv, removeAll, servicesFor } from "./test/fixtures.ts";

/**
 * An ops index made before `capline forget` (no audit fields): setup adds the fields in place
 * (adding fields is what a mapping update allows), keeps its documents, and a rerun changes nothing.
 */
describe("setup adds the forget audit fields to an existing ops index", () => {
  const env = randomEnv("opsforget");
  const config = testConfig(env);
  const services = servicesFor(env);
  const prefix = config.elasticsearch.indexPrefix;
  const oldMapping = () => {
    const { properties } = mappingFor("ops");
    const old = Object.fromEntries(Object.entries(properties).filter(([f]) => !(f in OPS_FORGET_FIELDS)));
    return { dynamic: "strict", properties: old };
  };

  beforeAll(async () => {
    const body = templateBody(prefix, "ops", configuredIndexSettings(config));
    await services.es.indices.putIndexTemplate({
      name: templateName(prefix, "ops"),
      ...body,
      template: { ...body.template, mappings: oldMapping() as never },
    });
    await services.es.indices.create({
      index: concreteIndexName(prefix, "ops"),
      mappings: oldMapping() as never,
      aliases: { [aliasName(prefix, "ops")]: { is_write_index: true } },
    });
    await services.es.index({
      index: aliasName(prefix, "ops"),
      id: "process:x",
      document: { "@timestamp": "2019-10-01T00:00:00.000Z", kind: "process", events: 3 },
      refresh: true,
    });
  });

  afterAll(async () => {
    await removeAll(services, config);
    await services.close();
  });

  it("says migrated, keeps the documents, takes an audit record, and a rerun changes nothing", async () => {
    const report = await runSetup(services, setupTargets(config));
    expect(report.ok, JSON.stringify(report.items.filter((i) => i.status === "differs"))).toBe(true);
    const migrated = report.items.filter((i) => i.status === "migrated");
    expect(migrated.map((i) => `${i.kind} ${i.name}`).sort()).toEqual(
      [`index ${concreteIndexName(prefix, "ops")}`, `index-template ${templateName(prefix, "ops")}`].sort(),
    );
    expect(migrated[0]?.detail).toContain(
      "fields added since the index was made: actor, customers, dlq_records, documents, files, profiles",
    );
    await services.es.index({
      index: aliasName(prefix, "ops"),
      id: "forget:0123456789abcdef",
      document: {
        "@timestamp": "2019-10-02T00:00:00.000Z",
        kind: "forget",
        actor: "me",
        customers: 3,
        files: 2,
      },
      refresh: true,
    });
    const count = await services.es.count({ index: aliasName(prefix, "ops") });
    expect(count.count).toBe(2);
    const again = await runSetup(services, setupTargets(config));
    expect(again.counts.migrated).toBe(0);
    expect(again.counts.differs).toBe(0);
  });
});
