import { describe, expect, it } from "vitest";
import { hdfsReadiness } from "./probes.ts";

const bean = (fields: Record<string, unknown>) => ({ beans: [fields] });
const nodes = (...blocks: number[]) =>
  JSON.stringify(Object.fromEntries(blocks.map((n, i) => [`127.0.0.1:${9866 + i}`, { numBlocks: n }])));

describe("HDFS readiness from the NameNodeInfo bean", () => {
  it("is ready with a live DataNode that has reported every block", () => {
    expect(hdfsReadiness(bean({ LiveNodes: nodes(3), TotalBlocks: 3, Safemode: "" }))).toBe(
      "1 DataNode live",
    );
    expect(hdfsReadiness(bean({ LiveNodes: nodes(2, 2), TotalBlocks: 3, Safemode: "" }))).toBe(
      "2 DataNodes live",
    );
    expect(hdfsReadiness(bean({ LiveNodes: nodes(0), TotalBlocks: 0, Safemode: "" }))).toBe(
      "1 DataNode live",
    );
  });
  it("waits while no DataNode is live, blocks are unreported, or safe mode is on", () => {
    expect(() => hdfsReadiness(bean({ LiveNodes: "{}", TotalBlocks: 0, Safemode: "" }))).toThrow(
      "no live DataNode",
    );
    expect(() => hdfsReadiness(bean({ LiveNodes: nodes(0), TotalBlocks: 1, Safemode: "" }))).toThrow(
      "reported 0 of 1 blocks",
    );
    expect(() =>
      hdfsReadiness(bean({ LiveNodes: nodes(1), TotalBlocks: 1, Safemode: "Safe mode is ON." })),
    ).toThrow("safe mode");
    expect(() => hdfsReadiness({ beans: [] })).toThrow("NameNodeInfo");
  });
});
