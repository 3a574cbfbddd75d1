import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { testConfig, uniqueName } from "../../test/support/index.ts";
import { ServiceUnavailableError } from "../errors.ts";
import { createWebHdfs, isWebHdfsNotFound, WebHdfsError } from "./webhdfs.ts";

/** A port nothing listens on: bound, read, released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

describe("WebHDFS smoke (NameNode redirect to the DataNode)", () => {
  const config = testConfig();
  const hdfs = createWebHdfs(config);
  const root = `/${uniqueName("smoke-hdfs")}`;

  afterAll(async () => {
    await hdfs.delete(root, { recursive: true });
  });

  it("creates, reads, lists, renames and deletes a file", async () => {
    expect(await hdfs.mkdirs(`${root}/in`)).toBe(true);
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
    await hdfs.create(`${root}/in/a.bin`, bytes);
    expect((await hdfs.open(`${root}/in/a.bin`)).equals(bytes)).toBe(true);
    expect(
      (await hdfs.open(`${root}/in/a.bin`, { offset: 10, length: 5 })).equals(bytes.subarray(10, 15)),
    ).toBe(true);
    const listed = await hdfs.listStatus(`${root}/in`);
    expect(listed.map((f) => [f.pathSuffix, f.type, f.length])).toEqual([["a.bin", "FILE", bytes.length]]);

    expect(await hdfs.rename(`${root}/in/a.bin`, `${root}/in/b.bin`)).toBe(true);
    expect(await hdfs.stat(`${root}/in/a.bin`)).toBeUndefined();
    expect((await hdfs.getFileStatus(`${root}/in/b.bin`)).length).toBe(bytes.length);

    expect(await hdfs.delete(`${root}/in/b.bin`)).toBe(true);
    expect(await hdfs.delete(`${root}/in/b.bin`)).toBe(false);
    const missing = await hdfs.open(`${root}/in/b.bin`).catch((e: unknown) => e);
    expect(isWebHdfsNotFound(missing)).toBe(true);
    expect((missing as WebHdfsError).status).toBe(404);
    expect((missing as WebHdfsError).remoteMessage).toContain("b.bin");
  });

  it("refuses to overwrite without the flag, with the server's exception", async () => {
    await hdfs.create(`${root}/once.txt`, "first");
    const error = await hdfs.create(`${root}/once.txt`, "second").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebHdfsError);
    expect((error as WebHdfsError).code).toBe("CONFLICT");
    expect((error as WebHdfsError).exception).toBe("FileAlreadyExistsException");
    await hdfs.create(`${root}/once.txt`, "second", { overwrite: true });
    expect(String(await hdfs.open(`${root}/once.txt`))).toBe("second");
  });

  it("writes atomically: replaces in place and leaves no temporary file", async () => {
    const path = `${root}/dt=2019-10-01/part.parquet`;
    await hdfs.writeAtomically(path, "v1");
    await hdfs.writeAtomically(path, "v2");
    expect(String(await hdfs.open(path))).toBe("v2");
    const refused = await hdfs.writeAtomically(path, "v3", { overwrite: false }).catch((e: unknown) => e);
    expect((refused as WebHdfsError).code).toBe("CONFLICT");
    expect(String(await hdfs.open(path))).toBe("v2");
    const names = (await hdfs.listStatus(`${root}/dt=2019-10-01`)).map((f) => f.pathSuffix);
    expect(names).toEqual(["part.parquet"]);
  });

  it("follows redirects rewritten to an explicit HDFS_DATANODE_URL", async () => {
    // The stack's DataNode (its HTTP port follows HDFS_DATANODE_URL when the stack is shifted),
    // reached by 127.0.0.1 whatever host name the NameNode's redirects carry.
    const port = new URL(testConfig().hdfs.datanodeUrl ?? "http://localhost:9864").port || "9864";
    const datanode = `http://127.0.0.1:${port}`;
    const rewritten = createWebHdfs(testConfig({ HDFS_DATANODE_URL: datanode }));
    expect(rewritten.datanodeUrl).toBe(datanode);
    await rewritten.create(`${root}/rewritten.txt`, `via ${datanode}`);
    expect(String(await rewritten.open(`${root}/rewritten.txt`))).toBe(`via ${datanode}`);
  });

  it("names the rewritten DataNode address when nothing answers there", async () => {
    const port = await closedPort();
    const broken = createWebHdfs(testConfig({ HDFS_DATANODE_URL: `http://127.0.0.1:${port}` }));
    const error = await broken.create(`${root}/never.txt`, "x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    const e = error as ServiceUnavailableError;
    expect(e.service).toBe("HDFS (WebHDFS)");
    expect(e.url).toBe(`http://127.0.0.1:${port}`);
    expect(e.message).toContain(`DataNode http://127.0.0.1:${port}`);
    expect(e.message).toContain("HDFS_DATANODE_URL");
    expect(e.message).toContain("ECONNREFUSED");
    const readError = await broken.open(`${root}/once.txt`).catch((x: unknown) => x);
    expect((readError as ServiceUnavailableError).url).toBe(`http://127.0.0.1:${port}`);
  });

  it("names the NameNode when WebHDFS itself is down", async () => {
    const port = await closedPort();
    const down = createWebHdfs(testConfig({ WEBHDFS_URL: `http://127.0.0.1:${port}` }));
    const error = await down.getFileStatus("/").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as ServiceUnavailableError).message).toMatch(
      new RegExp(
        `^HDFS \\(WebHDFS\\) is not reachable at http://127.0.0.1:${port}: GETFILESTATUS / at the NameNode`,
      ),
    );
  });
});
