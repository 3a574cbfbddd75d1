import type { Client } from "@elastic/elasticsearch";
import { expect } from "vitest";
import { aliasName } from "../../core/names.ts";
import type { CaplineEvent } from "../../core/schema/events.ts";
import type { SalesDocument } from "../aggregates.ts";
import type { ProfileDocument } from "../profiles.ts";
import { referenceProfiles, referenceSales, salesFigures } from "./events.ts";
import { allDocuments } from "./stores.ts";

/** Every profile and every daily and hourly aggregate under `prefix`, against the reference computed from `events`. */
export async function verifyIndexedDocuments(
  es: Client,
  prefix: string,
  events: readonly CaplineEvent[],
): Promise<void> {
  const profiles = await allDocuments<ProfileDocument>(es, aliasName(prefix, "profiles"));
  const want = referenceProfiles(events);
  expect(profiles.size).toBe(want.size);
  for (const [user, ref] of want) {
    const p = profiles.get(user);
    expect(
      p && {
        views: p.views,
        carts: p.carts,
        removes: p.removes,
        purchases: p.purchases,
        total_spent: p.total_spent,
        first_seen: p.first_seen,
        last_seen: p.last_seen,
        sessions: p.sessions,
        last_purchase_at: p.last_purchase_at,
        purchased_categories: p.purchased_categories,
        purchased_brands: p.purchased_brands,
      },
      `profile ${user}`,
    ).toEqual(ref);
  }
  for (const [name, ref] of [
    ["sales-daily", referenceSales(events)],
    ["sales-hourly", referenceSales(events, true)],
  ] as const) {
    const docs = await allDocuments<SalesDocument>(es, aliasName(prefix, name));
    expect(docs.size, name).toBe(ref.size);
    for (const [id, w] of ref) {
      const d = docs.get(id);
      expect(d && salesFigures(d), `${name} ${id}`).toEqual(w);
    }
  }
}
