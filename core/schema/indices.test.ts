import { describe, expect, it } from "vitest";
import { addableFields, fieldTypes, INDEX_NAMES, OPS_FORGET_FIELDS } from "./indices.ts";
import { REJECT_REASONS } from "./reasons.ts";

describe("addableFields", () => {
  it("lists one ops counter per reject reason, derived from the reasons, and forget's audit fields", () => {
    expect([...addableFields("ops")].sort()).toEqual(
      [...REJECT_REASONS.map((r) => `rejected_by_reason.${r}`), ...Object.keys(OPS_FORGET_FIELDS)].sort(),
    );
    expect(addableFields("ops").has("rejected_by_reason.id_too_long")).toBe(true);
    expect(addableFields("ops").has("rejected_by_reason.event_too_large")).toBe(true);
  });

  it("names only fields the mapping has, so setup never adds a field capline does not define", () => {
    for (const name of INDEX_NAMES) {
      const types = fieldTypes(name);
      for (const path of addableFields(name)) expect(types.has(path), `${name} ${path}`).toBe(true);
    }
    expect([...addableFields("profiles")].sort()).toEqual(["purchased_brands", "purchased_categories"]);
  });
});
