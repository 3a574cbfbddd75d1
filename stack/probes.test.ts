import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../core/config/index.ts";
import { hdfsReadiness, probe } from "./probes.ts";

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

describe("the Redis probe", () => {
  it("fails at once, with the reason, on a port whose program hangs up without answering", async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const started = Date.now();
      const answer = await probe(loadConfig({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } }), "redis");
      expect(answer).toEqual({ ok: false, reason: "the connection was closed before Redis answered PONG" });
      expect(Date.now() - started).toBeLessThan(2_500);
    } finally {
      server.close();
    }
  });
});
