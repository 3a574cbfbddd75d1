import { afterAll, describe, expect, it } from "vitest";
import { testConfig, uniqueName } from "../../test/support/index.ts";
import { lakeKey } from "../names.ts";
import { createMinio } from "./minio.ts";

const KEY = lakeKey("2019-10-01", "smoke", 0, 0, 0);

describe("minio smoke", () => {
  const config = testConfig();
  const minio = createMinio(config);
  const bucket = uniqueName("smoke-minio");

  afterAll(async () => {
    if (await minio.bucketExists(bucket)) {
      await minio.removeObject(bucket, KEY).catch(() => undefined);
      await minio.removeBucket(bucket);
    }
  });

  it("puts an object and gets the same bytes back", async () => {
    await minio.makeBucket(bucket, config.minio.region);
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    await minio.putObject(bucket, KEY, bytes, bytes.length, {
      "Content-Type": "application/vnd.apache.parquet",
    });
    const stat = await minio.statObject(bucket, KEY);
    expect(stat.size).toBe(bytes.length);
    const stream = await minio.getObject(bucket, KEY);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });
});
