import * as Minio from "minio";
import type { Config } from "../config/index.ts";

/** A MinIO (S3) client for the configured endpoint; keys come from the environment. */
export function createMinio(config: Config): Minio.Client {
  const url = new URL(config.minio.endpoint);
  const useSSL = url.protocol === "https:";
  return new Minio.Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: config.minio.accessKey,
    secretKey: config.minio.secretKey,
    region: config.minio.region,
    pathStyle: true,
  });
}
