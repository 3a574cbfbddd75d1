import { describe, expect, it } from "vitest";
import {
  averageOrder,
  customerFunnelRates,
  foldCohorts,
  foldHourly,
  funnelRates,
  ratio,
  roundCents,
} from "./math.ts";

describe("ratios and money", () => {
  it("rounds double sums back to cents", () => {
    expect(roundCents(0.1 + 0.2)).toBe(0.3);
    expect(roundCents(172.29 * 3)).toBe(516.87);
    expect(roundCents(1234567.894999)).toBe(1234567.89);
  });

  it("averages money as integer cents divide, also when the double sum falls a hair below a half cent", () => {
    // 496.25 + 951.18 is 1447.43 in cents, 723.715 a half: the double sum divided first lands a
    // hair below and rounds down; the reference (integer cents) rounds up.
    expect(roundCents((496.25 + 951.18) / 2)).toBe(723.71);
    expect(averageOrder(496.25 + 951.18, 2)).toBe(723.72);
    expect(averageOrder(359.24 + 611.78 + 45.05 + 942.15, 4)).toBe(489.56);
    expect(averageOrder(10, 3)).toBe(3.33);
  });

  it("gives no rate over zero", () => {
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(0, 4)).toBe(0);
    expect(ratio(1, 4)).toBe(0.25);
  });
});

describe("funnel", () => {
  it("computes step conversion and abandonment at event level", () => {
    expect(funnelRates({ views: 200, carts: 20, purchases: 5 })).toEqual({
      view_to_cart: 0.1,
      cart_to_purchase: 0.25,
      view_to_purchase: 0.025,
      cart_abandonment: 0.75,
    });
  });

  it("floors abandonment at 0 when purchases outnumber carts, and has none without carts", () => {
    expect(funnelRates({ views: 10, carts: 2, purchases: 3 }).cart_abandonment).toBe(0);
    expect(funnelRates({ views: 10, carts: 0, purchases: 3 })).toEqual({
      view_to_cart: 0,
      cart_to_purchase: null,
      view_to_purchase: 0.3,
      cart_abandonment: null,
    });
    expect(funnelRates({ views: 0, carts: 0, purchases: 0 }).view_to_cart).toBeNull();
  });

  it("computes the customer funnel from step counts", () => {
    expect(
      customerFunnelRates({
        customers: 100,
        viewed: 80,
        carted: 20,
        purchased: 10,
        any_cart: 25,
        cart_no_purchase: 12,
      }),
    ).toEqual({ view_to_cart: 0.25, cart_to_purchase: 0.5, view_to_purchase: 0.125, cart_abandonment: 0.48 });
  });
});

describe("foldCohorts", () => {
  it("shifts active weeks to weeks since the first-seen week, zeros for weeks nobody came back", () => {
    const rows = foldCohorts([
      {
        cohort: "2019-10-07",
        size: 4,
        active: [
          { week: "2019-10-07", customers: 4 },
          { week: "2019-10-21", customers: 1 },
        ],
      },
      {
        cohort: "2019-09-30",
        size: 10,
        active: [
          { week: "2019-09-30", customers: 10 },
          { week: "2019-10-07", customers: 5 },
          { week: "2019-10-14", customers: 2 },
        ],
      },
    ]);
    // Sorted by cohort; rows run to the newest week with data (2019-10-21).
    expect(rows.map((r) => r.cohort_week)).toEqual(["2019-09-30", "2019-10-07"]);
    expect(rows[0]?.active).toEqual([10, 5, 2, 0]);
    expect(rows[0]?.retention).toEqual([1, 0.5, 0.2, 0]);
    expect(rows[1]?.active).toEqual([4, 0, 1]);
    expect(rows[1]?.retention).toEqual([1, 0, 0.25]);
  });

  it("honours an explicit last week, across a year boundary", () => {
    const rows = foldCohorts(
      [{ cohort: "2019-12-30", size: 2, active: [{ week: "2019-12-30", customers: 2 }] }],
      "2020-01-13",
    );
    expect(rows[0]?.active).toEqual([2, 0, 0]);
  });

  it("gives nothing for no cohorts", () => {
    expect(foldCohorts([])).toEqual([]);
  });
});

describe("foldHourly", () => {
  it("folds UTC hours into weekday × hour cells", () => {
    const b = (iso: string, views: number, purchases = 0, revenue = 0) => ({
      ms: Date.parse(iso),
      views,
      carts: 1,
      removes: 0,
      purchases,
      revenue,
    });
    // 2019-10-07 was a Monday, 2019-10-13 a Sunday.
    const cells = foldHourly([
      b("2019-10-07T00:00:00Z", 3),
      b("2019-10-14T00:00:00Z", 2, 1, 0.1),
      b("2019-10-13T23:00:00Z", 1, 1, 0.2),
      b("2019-10-13T23:00:00Z", 0, 1, 0.1),
    ]);
    expect(cells).toHaveLength(168);
    const monday0 = cells[0];
    expect(monday0).toMatchObject({
      weekday: 0,
      hour: 0,
      views: 5,
      carts: 2,
      purchases: 1,
      events: 8,
      revenue: 0.1,
    });
    const sunday23 = cells[6 * 24 + 23];
    expect(sunday23).toMatchObject({ weekday: 6, hour: 23, views: 1, purchases: 2, events: 5, revenue: 0.3 });
    expect(cells.reduce((a, c) => a + c.events, 0)).toBe(13);
  });
});
