import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aliasName, concreteIndexName } from "../core/names.ts";
import { type IndexName, mappingFor, PROFILE_V2_FIELDS } from "../core/schema/indices.ts";
import { REJECT_REASONS } from "../core/schema/reasons.ts";
import { lakeFiles } from "../processing/lake.ts";
import { encodeParquet } from "../processing/parquet.ts";
import { mergeProfile, type ProfileDocument, profileDeltas } from "../processing/profiles.ts";
import { generateEvents, referenceProfiles } from "../processing/test/events.ts";
import { allDocuments } from "../processing/test/stores.ts";
import { testConfig } from "../test/support/index.ts";
import { configuredIndexSettings, templateBody, templateName } from "./elasticsearch.ts";
import { runSetup, setupTargets } from "./setup.ts";
import { randomEnv, removeAll, servicesFor } from "./test/fixtures.ts";

/**
 * `capline setup` on an installation from before index contract v2 of the profiles and before the
 * reject reasons id_too_long and event_too_large: the ops and profiles indices and templates lack
 * those fields, and the profiles lack their purchase sets. Setup adds the fields in place and fills
 * every purchaser's sets from the lake; afterwards they equal the sets computed from the events,
 * and a customer the lake is behind for is named, not guessed.
 */

const OLD_OPS_REASONS = ["id_too_long", "event_too_large"];

function oldMapping(name: "profiles" | "ops") {
  const properties = structuredClone(mappingFor(name).properties) as Record<string, unknown>;
  if (name === "profiles") for (const f of Object.keys(PROFILE_V2_FIELDS)) delete properties[f];
  else {
    const reasons = (properties.rejected_by_reason as { properties: Record<string, unknown> }).properties;
    for (const r of OLD_OPS_REASONS) delete reasons[r];
  }
  return { dynamic: "strict" as const, properties };
}

describe("setup migrates profiles and ops of an earlier installation", () => {
  const env = randomEnv("contractv2");
  const config = testConfig(env);
  const services = servicesFor(env);
  const prefix = config.elasticsearch.indexPrefix;
  const profiles = aliasName(prefix, "profiles");
  const events = generateEvents(3000, 17, 90, 6).map((e) => ({ ...e }));
  const want = referenceProfiles(events);
  const behind = [...want].find(([, p]) => p.purchases > 1)?.[0] ?? "";

  beforeAll(async () => {
    const settings = configuredIndexSettings(config);
    for (const name of ["profiles", "ops"] as const) {
      const body = templateBody(prefix, name as IndexName, settings);
      await services.es.indices.putIndexTemplate({
        name: templateName(prefix, name),
        ...body,
        template: { ...body.template, mappings: oldMapping(name) as never },
      });
      await services.es.indices.create({
        index: concreteIndexName(prefix, name),
        mappings: oldMapping(name) as never,
        aliases: { [aliasName(prefix, name)]: { is_write_index: true } },
      });
    }
    // The lake as the archive wrote it: 3 partitions by user, ranges of 200 offsets.
    await services.minio.makeBucket(config.minio.bucket, config.minio.region);
    const docs = new Map<string, ProfileDocument>();
    for (let p = 0; p < 3; p++) {
      const mine = events
        .filter((e) => Number(BigInt(e.user_id) % 3n) === p)
        .map((event, offset) => ({ offset, event }));
      for (let i = 0; i < mine.length; i += 200) {
        const range = mine.slice(i, i + 200);
        for (const f of lakeFiles(config.kafka.topic, p, range)) {
          const bytes = await encodeParquet(p, f.events);
          await services.minio.putObject(config.minio.bucket, f.key, bytes, bytes.length);
        }
        const r = { topic: config.kafka.topic, partition: p, first: i, last: i + range.length - 1 };
        for (const d of profileDeltas(range.map((x) => x.event)).values()) {
          const next = mergeProfile(docs.get(d.user_id), d, r);
          if (next) docs.set(d.user_id, next);
        }
      }
    }
    // Profiles as version 1 wrote them: no purchase sets; one whose lake is behind by a purchase.
    const operations = [...docs].flatMap(([id, doc]) => {
      const { purchased_categories: _c, purchased_brands: _b, ...v1 } = doc;
      return [
        { index: { _index: profiles, _id: id } },
        id === behind ? { ...v1, purchases: v1.purchases + 1 } : v1,
      ];
    });
    const answer = await services.es.bulk({ operations, refresh: true });
    expect(answer.errors).toBe(false);
  });

  afterAll(async () => {
    await removeAll(services, config);
    await services.close();
  });

  it("adds the fields, fills the purchase sets from the lake, and names the profile it cannot fill", async () => {
    const purchasers = [...want.values()].filter((p) => p.purchases > 0).length;
    expect(purchasers).toBeGreaterThan(50);
    const report = await runSetup(services, setupTargets(config));
    const item = (kind: string, name: string) => report.items.find((i) => i.kind === kind && i.name === name);
    expect(item("index-template", templateName(prefix, "ops"))?.status).toBe("migrated");
    expect(item("index-template", templateName(prefix, "profiles"))?.status).toBe("migrated");
    expect(item("index", concreteIndexName(prefix, "ops"))).toMatchObject({
      status: "migrated",
      detail: expect.stringContaining("rejected_by_reason.event_too_large, rejected_by_reason.id_too_long"),
    });
    const index = item("index", concreteIndexName(prefix, "profiles"));
    expect(index?.status).toBe("differs");
    expect(index?.detail).toContain(
      `${purchasers - 1} profile(s) given purchased_categories/purchased_brands`,
    );
    expect(index?.differences.join("\n")).toContain("1 purchaser profile(s) still lack purchased_categories");

    const docs = await allDocuments<ProfileDocument>(services.es, profiles);
    for (const [user, ref] of want) {
      const doc = docs.get(user);
      if (user === behind || ref.purchases === 0) {
        expect(doc?.purchased_categories, user).toBeUndefined();
        continue;
      }
      expect({ c: doc?.purchased_categories, b: doc?.purchased_brands }, user).toEqual({
        c: ref.purchased_categories,
        b: ref.purchased_brands,
      });
    }

    // Every reject reason is a counter the ops index takes now (dynamic: strict refused it before).
    const ops = await services.es.index({
      index: aliasName(prefix, "ops"),
      document: { kind: "ingest", rejected_by_reason: Object.fromEntries(REJECT_REASONS.map((r) => [r, 1])) },
      refresh: true,
    });
    expect(ops.result).toBe("created");
  });

  it("fills the last one once the lake holds its purchases, then changes nothing", async () => {
    const ref = want.get(behind);
    await services.es.update({
      index: profiles,
      id: behind,
      doc: { purchases: ref?.purchases },
      refresh: true,
    });
    const report = await runSetup(services, setupTargets(config));
    expect(report.ok).toBe(true);
    const index = report.items.find(
      (i) => i.kind === "index" && i.name === concreteIndexName(prefix, "profiles"),
    );
    expect(index).toMatchObject({
      status: "migrated",
      detail: expect.stringContaining("1 profile(s) given"),
    });
    const doc = (await services.es.get<ProfileDocument>({ index: profiles, id: behind }))._source;
    expect(doc?.purchased_categories).toEqual(ref?.purchased_categories);
    expect(doc?.purchased_brands).toEqual(ref?.purchased_brands);
    const again = await runSetup(services, setupTargets(config));
    expect(again.counts).toMatchObject({ migrated: 0, differs: 0 });
  });
});
