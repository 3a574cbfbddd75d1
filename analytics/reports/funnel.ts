import { UNKNOWN_KEY } from "../../core/schema/events.ts";
import { type CustomerFunnelCounts, customerFunnelRates, funnelRates } from "../math.ts";
import type { Row } from "../model.ts";
import { type Json, profileQuery, readSums, SALES_SUMS, salesIndex, salesQuery } from "../source.ts";
import { col, filterNote, oneSalesFilter, type ReportContext, type ReportOutput } from "./common.ts";

const gt0 = (field: string) => ({ range: { [field]: { gt: 0 } } });

/** The customer funnel as filters over profile counters (strict: each step includes the previous). */
export const CUSTOMER_STEPS = {
  viewed: { bool: { filter: [gt0("views")] } },
  carted: { bool: { filter: [gt0("views"), gt0("carts")] } },
  purchased: { bool: { filter: [gt0("views"), gt0("carts"), gt0("purchases")] } },
  any_cart: { bool: { filter: [gt0("carts")] } },
  cart_no_purchase: { bool: { filter: [gt0("carts")], must_not: [gt0("purchases")] } },
};

function customerCounts(total: number, b: Json): CustomerFunnelCounts {
  const n = (k: string) => Number(b?.steps?.buckets?.[k]?.doc_count ?? 0);
  return {
    customers: total,
    viewed: n("viewed"),
    carted: n("carted"),
    purchased: n("purchased"),
    any_cart: n("any_cart"),
    cart_no_purchase: n("cart_no_purchase"),
  };
}

export async function funnel({ source, params: p }: ReportContext): Promise<ReportOutput> {
  oneSalesFilter(p, "funnel");
  const index = salesIndex(p);
  const steps = { steps: { filters: { filters: CUSTOMER_STEPS } } };
  const perCategory = p.brand === undefined;
  const [events, categories, customers] = await Promise.all([
    source.search(index, { size: 0, query: salesQuery(p), aggs: SALES_SUMS }, "sum funnel events"),
    perCategory
      ? source.search(
          index,
          {
            size: 0,
            query: salesQuery(p, "category"),
            aggs: {
              keys: {
                terms: {
                  field: "key",
                  size: p.top,
                  shard_size: Math.max(p.top * 10, 500),
                  order: [{ views: "desc" }, { _key: "asc" }],
                  ...(p.category === undefined ? {} : { include: [p.category] }),
                },
                aggs: SALES_SUMS,
              },
            },
          },
          "sum funnel events per category",
        )
      : Promise.resolve(undefined),
    source.search(
      "profiles",
      {
        size: 0,
        track_total_hits: true,
        query: profileQuery(p),
        aggs: {
          ...steps,
          top: {
            terms: {
              field: "top_category",
              size: p.top,
              missing: UNKNOWN_KEY,
              order: [{ _count: "desc" }, { _key: "asc" }],
            },
            aggs: steps,
          },
        },
      },
      "count customers per funnel step",
    ),
  ]);
  const s = readSums(events.aggregations);
  const eventLevel = {
    views: s.views,
    carts: s.carts,
    removes: s.removes,
    purchases: s.purchases,
    ...funnelRates(s),
  };
  const totalCustomers = Number(customers.hits?.total?.value ?? 0);
  const c = customerCounts(totalCustomers, customers.aggregations);
  const customerLevel = { ...c, ...customerFunnelRates(c) };
  const byCategory = ((categories?.aggregations?.keys?.buckets ?? []) as Json[]).map((b) => {
    const k = readSums(b);
    return {
      category: String(b.key),
      views: k.views,
      carts: k.carts,
      purchases: k.purchases,
      ...funnelRates(k),
    };
  });
  const byTopCategory = ((customers.aggregations?.top?.buckets ?? []) as Json[]).map((b) => {
    const k = customerCounts(Number(b.doc_count), b);
    return { top_category: String(b.key), ...k, ...customerFunnelRates(k) };
  });
  const rates = [
    col("view_to_cart", "View→cart", "pct"),
    col("cart_to_purchase", "Cart→purchase", "pct"),
    col("view_to_purchase", "View→purchase", "pct"),
    col("cart_abandonment", "Cart abandonment", "pct"),
  ];
  const stepRows = [
    { step: "view", events: s.views, customers: c.viewed },
    { step: "cart", events: s.carts, customers: c.carted },
    { step: "purchase", events: s.purchases, customers: c.purchased },
  ];
  const sections: ReportOutput["sections"] = [
    {
      id: "funnel",
      title: "Funnel: view → cart → purchase",
      notes: [
        filterNote(p),
        "Events: from the sales aggregates. Customers: profiles active in the range; each step counts customers who also did every step before it.",
      ],
      table: {
        columns: [col("step", "Step"), col("events", "Events", "int"), col("customers", "Customers", "int")],
        rows: stepRows,
      },
      chart: {
        type: "bars",
        label: "Customers per funnel step",
        axis: "Customers",
        categories: "Step",
        legend: "Customers who did this step and every step before it",
        kind: "int",
        items: stepRows.map((r) => ({ label: r.step, value: r.customers })),
      },
    },
    {
      id: "conversion",
      title: "Conversion and cart abandonment",
      table: {
        columns: [col("level", "Level"), ...rates],
        rows: [
          { level: "events", ...funnelRates(s) },
          { level: "customers", ...customerFunnelRates(c) },
        ] as unknown as Row[],
      },
    },
  ];
  if (perCategory)
    sections.push({
      id: "by_category",
      title: `Event funnel by category (top ${p.top} by views)`,
      table: {
        columns: [
          col("category", "Category"),
          col("views", "Views", "int"),
          col("carts", "Carts", "int"),
          col("purchases", "Purchases", "int"),
          ...rates,
        ],
        rows: byCategory as unknown as Row[],
      },
      chart: {
        type: "bars",
        label: "View → purchase by category",
        axis: "View → purchase (purchases / views)",
        categories: "Category",
        legend: "Event conversion of the category",
        kind: "pct",
        items: byCategory.map((r) => ({ label: r.category, value: r.view_to_purchase ?? 0 })),
      },
    });
  sections.push({
    id: "by_top_category",
    title: `Customer funnel by top category (top ${p.top} by customers)`,
    notes: ["A customer counts under the category of most of their events (profile top_category)."],
    table: {
      columns: [
        col("top_category", "Top category"),
        col("customers", "Customers", "int"),
        col("viewed", "Viewed", "int"),
        col("carted", "Carted", "int"),
        col("purchased", "Purchased", "int"),
        ...rates,
      ],
      rows: byTopCategory as unknown as Row[],
    },
  });
  return {
    title: "Funnel",
    data: {
      event_level: eventLevel,
      customer_level: customerLevel,
      by_category: byCategory,
      by_top_category: byTopCategory,
    },
    sections,
    empty: s.views + s.carts + s.removes + s.purchases === 0 && totalCustomers === 0,
  };
}
