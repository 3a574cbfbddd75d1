import { describe, expect, it } from "vitest";
import { INDEX_NAMES, mappingFor } from "../core/schema/indices.ts";
import { describeDifference, diffMappings, type MappingLike } from "./mapping-diff.ts";

const expected: MappingLike = {
  dynamic: "strict",
  properties: {
    user_id: { type: "keyword", ignore_above: 1024 },
    views: { type: "long" },
    first_seen: { type: "date", format: "strict_date_optional_time||epoch_millis" },
    state: { type: "object", enabled: false },
    rejected: {
      type: "object",
      properties: { bad_price: { type: "long" }, bad_timestamp: { type: "long" } },
    },
  },
};

/**
 * The same mapping as Elasticsearch returns it: objects with sub-fields have no `type`, and
 * parameters at their default value (the date format here) are left out.
 */
const asReturned = (): MappingLike => ({
  dynamic: "strict",
  properties: {
    first_seen: { type: "date" },
    rejected: { properties: { bad_price: { type: "long" }, bad_timestamp: { type: "long" } } },
    state: { type: "object", enabled: false },
    user_id: { type: "keyword", ignore_above: 1024 },
    views: { type: "long" },
  },
});

describe("diffMappings", () => {
  it("finds nothing between a mapping and itself as Elasticsearch returns it", () => {
    expect(diffMappings(expected, asReturned())).toEqual([]);
  });

  it("finds nothing for every capline index against a JSON round trip of itself", () => {
    for (const name of INDEX_NAMES) {
      const m = mappingFor(name) as MappingLike;
      expect(diffMappings(m, JSON.parse(JSON.stringify(m)))).toEqual([]);
    }
  });

  it("reports a changed type with the field path, expected and found", () => {
    const actual = asReturned();
    (actual.properties as Record<string, unknown>).views = { type: "keyword" };
    const diff = diffMappings(expected, actual);
    expect(diff).toEqual([{ path: "views", kind: "type", expected: "long", actual: "keyword" }]);
    expect(diff.map(describeDifference)[0]).toBe("views: expected type long, found keyword");
  });

  it("reports a changed type of a nested field by its dotted path", () => {
    const actual = asReturned();
    actual.properties = {
      ...actual.properties,
      rejected: { properties: { bad_price: { type: "double" }, bad_timestamp: { type: "long" } } },
    };
    expect(diffMappings(expected, actual)).toEqual([
      { path: "rejected.bad_price", kind: "type", expected: "long", actual: "double" },
    ]);
  });

  it("reports missing and extra fields, once per subtree", () => {
    const actual = asReturned();
    const props = actual.properties as Record<string, unknown>;
    delete props.views;
    delete props.rejected;
    props.colour = { type: "text", fields: { keyword: { type: "keyword" } } };
    props.extra_obj = { properties: { a: { type: "long" }, b: { type: "long" } } };
    const diff = diffMappings(expected, actual);
    expect(diff).toEqual([
      { path: "colour", kind: "extra", actual: "text" },
      { path: "extra_obj", kind: "extra", actual: "object" },
      { path: "rejected", kind: "missing", expected: "object" },
      { path: "views", kind: "missing", expected: "long" },
    ]);
    expect(diff.map(describeDifference)).toEqual([
      "colour: not expected (found text)",
      "extra_obj: not expected (found object)",
      "rejected: missing (expected object)",
      "views: missing (expected long)",
    ]);
  });

  it("does not list the children of a field whose type changed", () => {
    const actual = asReturned();
    (actual.properties as Record<string, unknown>).rejected = { type: "keyword" };
    expect(diffMappings(expected, actual)).toEqual([
      { path: "rejected", kind: "type", expected: "object", actual: "keyword" },
    ]);
  });

  it("reports changed, missing and added parameters", () => {
    const actual = asReturned();
    const props = actual.properties as Record<string, Record<string, unknown>>;
    props.first_seen = { type: "date", format: "yyyy-MM-dd" };
    props.user_id = { type: "keyword", ignore_above: 256, index: false };
    props.state = { type: "object" };
    expect(diffMappings(expected, actual).map(describeDifference)).toEqual([
      'first_seen.format: expected "strict_date_optional_time||epoch_millis", found "yyyy-MM-dd"',
      "state.enabled: expected false, found true",
      "user_id.ignore_above: expected 1024, found 256",
      "user_id.index: expected true, found false",
    ]);
  });

  it("reports the index-level dynamic setting", () => {
    const actual = asReturned();
    actual.dynamic = "true";
    expect(diffMappings(expected, actual)).toEqual([
      { path: "(root).dynamic", kind: "parameter", expected: "strict", actual: "true" },
    ]);
    delete actual.dynamic;
    expect(diffMappings(expected, actual).map(describeDifference)).toEqual([
      "(root).dynamic: expected strict, found (unset)",
    ]);
  });

  it("reports every field as missing against an empty index", () => {
    const diff = diffMappings(expected, {});
    expect(diff.filter((d) => d.kind === "missing").map((d) => d.path)).toEqual([
      "first_seen",
      "rejected",
      "state",
      "user_id",
      "views",
    ]);
  });
});
