import { afterAll, describe, expect, it } from "vitest";
import { testConfig, uniqueName } from "../../test/support/index.ts";
import { createElasticsearch } from "./elasticsearch.ts";

describe("@elastic/elasticsearch smoke", () => {
  const es = createElasticsearch(testConfig());
  const index = uniqueName("smoke-es");

  afterAll(async () => {
    await es.indices.delete({ index, ignore_unavailable: true });
    await es.close();
  });

  it("answers as Elasticsearch (the client's product check) with a matching major version", async () => {
    // GET / is not served by the minimal distribution; any API response carries the header.
    const response = await es.cluster.health({}, { meta: true });
    expect(response.headers["x-elastic-product"]).toBe("Elasticsearch");
    expect(response.body.status).toMatch(/green|yellow/);
  });

  it("indexes documents and finds them by search and aggregation", async () => {
    await es.indices.create({
      index,
      mappings: {
        dynamic: "strict",
        properties: { user_id: { type: "keyword" }, price: { type: "double" } },
      },
    });
    await es.bulk({
      refresh: true,
      operations: [
        { index: { _index: index, _id: "1" } },
        { user_id: "u1", price: 10.5 },
        { index: { _index: index, _id: "2" } },
        { user_id: "u2", price: 4.5 },
        { index: { _index: index, _id: "3" } },
        { user_id: "u1", price: 1 },
      ],
    });
    const result = await es.search<{ user_id: string; price: number }>(
      {
        index,
        query: { term: { user_id: "u1" } },
        aggs: { spent: { sum: { field: "price" } } },
        sort: [{ price: "asc" }],
      },
      { meta: true },
    );
    expect(result.headers["x-elastic-product"]).toBe("Elasticsearch");
    expect(result.body.hits.hits.map((h) => h._id)).toEqual(["3", "1"]);
    expect(result.body.aggregations?.spent).toEqual({ value: 11.5 });
  });
});
