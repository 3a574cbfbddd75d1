import { afterAll, describe, expect, it } from "vitest";
import { testConfig, uniqueName } from "../../test/support/index.ts";
import { createMinio } from "./minio.ts";

describe("minio smoke", () => {
  const config = testConfig();
  const minio = createMinio(config);
  const bucket = uniqueName("smoke-minio");

  afterAll(async () => {
    if (await minio.bucketExists(bucket)) {
      await minio.removeObject(bucket, "events/dt=2019-10-01/a.parquet").catch(() => undefined);
      await minio.removeBucket(bucket);
    }
  });

  it("puts an object and gets the same bytes back", async () => {
    await minio.makeBucket(bucket, config.minio.region);
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    await minio.putObject(bucket, "events/dt=2019-10-01/a.parquet", bytes, bytes.length, {
      "Content-Type": "application/vnd.apache.parquet",
    });
    const stat = await minio.statObject(bucket, "events/dt=2019-10-01/a.parquet");
    expect(stat.size).toBe(bytes.length);
    const stream = await minio.getObject(bucket, "events/dt=2019-10-01/a.parquet");
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });
});
