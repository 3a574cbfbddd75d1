import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Config } from "../config/index.ts";
import { CaplineError, describeError, type ErrorCode, ServiceUnavailableError } from "../errors.ts";
import { logger } from "../logging.ts";

/**
 * A small WebHDFS REST client over Node's fetch (no Hadoop client, no extra package).
 *
 * CREATE and OPEN are two steps: the NameNode answers 307 with the address of a DataNode, and the
 * bytes go to (or come from) that address. Inside Docker Compose that address is a container host
 * name the host cannot resolve, so `datanodeUrl` (HDFS_DATANODE_URL) replaces the origin of every
 * redirect with an address the caller can reach. The same two steps work against HttpFS, which
 * redirects to itself.
 */

const SERVICE = "HDFS (WebHDFS)";

export interface WebHdfsOptions {
  /** NameNode HTTP address, e.g. http://127.0.0.1:9870 (no trailing /webhdfs/v1). */
  url: string;
  /** Sent as `user.name` (simple authentication). */
  user: string;
  /** Replaces the origin of DataNode redirects when set (host-side access into Docker). */
  datanodeUrl?: string | undefined;
  /** Per request, both steps counted separately. @defaultValue 30000 */
  timeoutMs?: number;
}

export type FileType = "FILE" | "DIRECTORY" | "SYMLINK";

/** The FileStatus object of the WebHDFS REST API (fields capline reads). */
export interface FileStatus {
  /** The entry's name in LISTSTATUS; empty for GETFILESTATUS. */
  pathSuffix: string;
  type: FileType;
  length: number;
  modificationTime: number;
  owner: string;
  group: string;
  permission: string;
  replication: number;
}

export interface ContentSummary {
  fileCount: number;
  directoryCount: number;
  length: number;
}

/** The `RemoteException` body WebHDFS sends with every error status. */
export interface RemoteException {
  exception: string;
  javaClassName?: string;
  message: string;
}

/** Exceptions a NameNode throws while it cannot serve yet (starting, safe mode, failover). */
const RETRYABLE_EXCEPTIONS = new Set(["RetriableException", "StandbyException", "SafeModeException"]);
/**
 * The NameNode has no live DataNode to place a block on (one restarting, or not registered yet):
 * a 403 IOException that passes with time like an outage, not a refusal of the request.
 */
const NO_DATANODE = /Failed to find datanode|could only be (?:written|replicated) to 0 of the/;

/** A WebHDFS request that the server answered with an error. */
export class WebHdfsError extends CaplineError {
  readonly status: number;
  /** The Java exception's simple name, e.g. `FileNotFoundException`; empty when the body had none. */
  readonly exception: string;
  readonly remoteMessage: string;

  constructor(op: string, path: string, status: number, remote: RemoteException | undefined, url: string) {
    const exception = remote?.exception ?? "";
    const remoteMessage = remote?.message ?? "";
    super(
      webHdfsErrorCode(exception),
      `${SERVICE} ${op} ${path} failed with HTTP ${status}${exception ? ` ${exception}` : ""}${
        remoteMessage ? `: ${remoteMessage}` : ""
      }`,
      {
        retryable:
          status >= 500 ||
          status === 429 ||
          RETRYABLE_EXCEPTIONS.has(exception) ||
          NO_DATANODE.test(remoteMessage),
        details: { service: SERVICE, url, op, path, status, exception, remoteMessage },
      },
    );
    this.name = "WebHdfsError";
    this.status = status;
    this.exception = exception;
    this.remoteMessage = remoteMessage;
  }

  get notFound(): boolean {
    return this.status === 404 || this.exception === "FileNotFoundException";
  }
}

export function isWebHdfsNotFound(error: unknown): boolean {
  return error instanceof WebHdfsError && error.notFound;
}

function webHdfsErrorCode(exception: string): ErrorCode {
  if (exception === "FileAlreadyExistsException" || exception === "ParentNotDirectoryException")
    return "CONFLICT";
  return "SERVICE_ERROR";
}

/** Reads `{"RemoteException": {...}}` from an error body; undefined when the body is something else. */
export function parseRemoteException(body: string): RemoteException | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const remote = (parsed as { RemoteException?: unknown } | null)?.RemoteException;
  if (typeof remote !== "object" || remote === null) return undefined;
  const r = remote as Record<string, unknown>;
  return {
    exception: typeof r.exception === "string" ? r.exception : "",
    ...(typeof r.javaClassName === "string" ? { javaClassName: r.javaClassName } : {}),
    message: typeof r.message === "string" ? r.message : "",
  };
}

/**
 * The address to follow for a DataNode redirect: `location` as given, or with its origin (scheme,
 * host, port) replaced by `datanodeUrl`. A path on `datanodeUrl` (a reverse proxy, say) is kept in
 * front of the redirect's path.
 */
export function rewriteRedirect(location: string, datanodeUrl: string | undefined): string {
  if (!datanodeUrl) return location;
  const target = new URL(location);
  const base = new URL(datanodeUrl);
  const prefix = base.pathname.replace(/\/+$/, "");
  return `${base.origin}${prefix}${target.pathname}${target.search}`;
}

/** `/a/b c` → `/webhdfs/v1/a/b%20c`; refuses relative paths, which WebHDFS would misread. */
export function webHdfsPath(path: string): string {
  if (!path.startsWith("/")) throw new CaplineError("USAGE", `HDFS path "${path}" must be absolute`);
  const segments = path.split("/").filter((s) => s.length > 0);
  return `/webhdfs/v1/${segments.map(encodeURIComponent).join("/")}`;
}

/** The folder and name of an absolute path: `/a/b/c.parquet` → [`/a/b`, `c.parquet`]. */
export function splitPath(path: string): [dir: string, name: string] {
  const trimmed = path.replace(/\/+$/, "");
  const cut = trimmed.lastIndexOf("/");
  const name = trimmed.slice(cut + 1);
  if (cut < 0 || name === "") throw new CaplineError("USAGE", `HDFS path "${path}" does not name a file`);
  return [cut === 0 ? "/" : trimmed.slice(0, cut), name];
}

type Params = Record<string, string | number | boolean | undefined>;

export class WebHdfsClient {
  readonly url: string;
  readonly user: string;
  readonly datanodeUrl: string | undefined;
  readonly timeoutMs: number;

  constructor(options: WebHdfsOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.user = options.user;
    this.datanodeUrl = options.datanodeUrl;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The status of a file or folder; throws a WebHdfsError (`notFound`) when it does not exist. */
  async getFileStatus(path: string): Promise<FileStatus> {
    const body = await this.json<{ FileStatus: FileStatus }>("GET", "GETFILESTATUS", path);
    return body.FileStatus;
  }

  /** The status, or undefined when nothing exists at `path`. */
  async stat(path: string): Promise<FileStatus | undefined> {
    try {
      return await this.getFileStatus(path);
    } catch (error) {
      if (isWebHdfsNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The entries of a folder (for a file: the file itself). */
  async listStatus(path: string): Promise<FileStatus[]> {
    const body = await this.json<{ FileStatuses: { FileStatus: FileStatus[] } }>("GET", "LISTSTATUS", path);
    return body.FileStatuses.FileStatus;
  }

  /** Files, folders and bytes below `path` (one cheap NameNode call). */
  async contentSummary(path: string): Promise<ContentSummary> {
    const body = await this.json<{ ContentSummary: ContentSummary }>("GET", "GETCONTENTSUMMARY", path);
    const s = body.ContentSummary;
    return { fileCount: s.fileCount, directoryCount: s.directoryCount, length: s.length };
  }

  /** Creates the folder and its parents; true also when it existed already. */
  async mkdirs(path: string, permission?: string): Promise<boolean> {
    const body = await this.json<{ boolean: boolean }>("PUT", "MKDIRS", path, { permission });
    return body.boolean;
  }

  /**
   * Writes a file (NameNode → 307 → DataNode). With `overwrite: false` an existing file is an error
   * (code CONFLICT, FileAlreadyExistsException). Missing parent folders are created.
   */
  async create(
    path: string,
    data: Uint8Array | string,
    options: { overwrite?: boolean; permission?: string } = {},
  ): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const params = { overwrite: options.overwrite ?? false, permission: options.permission };
    const first = await this.send("PUT", "CREATE", path, params);
    if (first.status === 201) return; // a server that took the (empty) request itself
    const location = await this.redirectTarget(first, "CREATE", path);
    const second = await this.upload(location, bytes, "CREATE", path);
    if (second.status !== 201 && second.status !== 200)
      throw new WebHdfsError("CREATE", path, second.status, parseRemoteException(second.body), this.url);
  }

  /** Reads a whole file, or `length` bytes from `offset` (NameNode → 307 → DataNode). */
  async open(path: string, options: { offset?: number; length?: number } = {}): Promise<Buffer> {
    const first = await this.send("GET", "OPEN", path, { offset: options.offset, length: options.length });
    const response =
      first.status === 200
        ? first
        : await this.fetchOrUnavailable(
            await this.redirectTarget(first, "OPEN", path),
            { method: "GET" },
            "OPEN",
            path,
            true,
          );
    if (response.status !== 200) throw await this.failure(response, "OPEN", path);
    return Buffer.from(await response.arrayBuffer());
  }

  /** Alias of `open`. */
  read(path: string, options: { offset?: number; length?: number } = {}): Promise<Buffer> {
    return this.open(path, options);
  }

  /**
   * HDFS's classic rename: false (nothing done) when `from` is missing or `to` exists, and a
   * folder at `to` receives `from` inside it.
   */
  async rename(from: string, to: string): Promise<boolean> {
    if (!to.startsWith("/")) throw new CaplineError("USAGE", `HDFS rename target "${to}" must be absolute`);
    const body = await this.json<{ boolean: boolean }>("PUT", "RENAME", from, { destination: to });
    return body.boolean;
  }

  /**
   * Renames `from` to exactly `to` in one NameNode step (WebHDFS `renameoptions`, FileSystem's
   * rename2) and throws when it cannot: with `overwrite` an existing file at `to` is replaced;
   * without, an existing `to` is a CONFLICT error (FileAlreadyExistsException). Never moves into
   * a folder the way the classic rename does.
   */
  async renameExactly(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    if (!to.startsWith("/")) throw new CaplineError("USAGE", `HDFS rename target "${to}" must be absolute`);
    const response = await this.send("PUT", "RENAME", from, {
      destination: to,
      renameoptions: options.overwrite ? "OVERWRITE" : "NONE",
    });
    if (!response.ok) throw await this.failure(response, "RENAME", from);
    await response.body?.cancel();
  }

  /** Deletes a file or folder; false when nothing was there. A non-empty folder needs `recursive`. */
  async delete(path: string, options: { recursive?: boolean } = {}): Promise<boolean> {
    const body = await this.json<{ boolean: boolean }>("DELETE", "DELETE", path, {
      recursive: options.recursive ?? false,
    });
    return body.boolean;
  }

  /**
   * Writes `path` so that no reader ever sees a partial file: the bytes go to `.<name>.tmp-<uuid>`
   * in the same folder (a hidden name that Hadoop, Spark and DuckDB skip), which is then renamed
   * into place. With `overwrite` (the default) an existing file is replaced atomically, which is
   * what idempotent writers with deterministic names want; with `overwrite: false` an existing file
   * is a CONFLICT error and stays as it was. The temporary file is removed when a step fails.
   */
  async writeAtomically(
    path: string,
    data: Uint8Array | string,
    options: { overwrite?: boolean } = {},
  ): Promise<void> {
    const [dir, name] = splitPath(path);
    const temporary = `${dir === "/" ? "" : dir}/.${name}.tmp-${randomUUID()}`;
    const overwrite = options.overwrite ?? true;
    await this.create(temporary, data, { overwrite: false });
    try {
      await this.renameExactly(temporary, path, { overwrite });
    } catch (error) {
      // The rename's failure is the one to report; a leftover (hidden name) is logged with its path.
      await this.delete(temporary).catch((cleanup: unknown) => {
        logger("webhdfs").warn(
          { path: temporary, error: describeError(cleanup) },
          "could not remove the temporary file of a failed write",
        );
      });
      throw error;
    }
  }

  // --- transport -------------------------------------------------------------------------------

  private endpoint(op: string, path: string, params: Params): string {
    const query = new URLSearchParams({ op, "user.name": this.user });
    for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, String(value));
    return `${this.url}${webHdfsPath(path)}?${query.toString()}`;
  }

  private send(method: string, op: string, path: string, params: Params = {}): Promise<Response> {
    return this.fetchOrUnavailable(
      this.endpoint(op, path, params),
      { method, redirect: "manual" },
      op,
      path,
      false,
    );
  }

  private async json<T>(method: string, op: string, path: string, params: Params = {}): Promise<T> {
    const response = await this.send(method, op, path, params);
    if (!response.ok) throw await this.failure(response, op, path);
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new CaplineError("SERVICE_ERROR", `${SERVICE} ${op} ${path}: the answer is not JSON`, {
        cause,
        details: { service: SERVICE, url: this.url, status: response.status, body: text.slice(0, 200) },
      });
    }
  }

  private async redirectTarget(response: Response, op: string, path: string): Promise<string> {
    const location = response.headers.get("location");
    if ((response.status !== 307 && response.status !== 302) || !location) {
      if (!response.ok) throw await this.failure(response, op, path);
      await response.body?.cancel();
      throw new CaplineError(
        "SERVICE_ERROR",
        `${SERVICE} ${op} ${path}: expected a redirect to a DataNode, got HTTP ${response.status}`,
        { details: { service: SERVICE, url: this.url, status: response.status } },
      );
    }
    await response.body?.cancel();
    return rewriteRedirect(location, this.datanodeUrl);
  }

  /** One request with a timeout; network failures become ServiceUnavailableError naming the URL. */
  private async fetchOrUnavailable(
    url: string,
    init: RequestInit,
    op: string,
    path: string,
    datanode: boolean,
  ): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (cause) {
      throw this.unavailable(url, cause, op, path, datanode);
    }
  }

  /**
   * PUTs the bytes to the DataNode with node:http rather than fetch: the DataNode answers CREATE
   * with an unsolicited `100 Continue` before its `201 Created`, which fetch (undici) rejects as a
   * bad response, while node:http reads past interim responses as HTTP/1.1 allows.
   */
  private upload(
    url: string,
    bytes: Uint8Array,
    op: string,
    path: string,
  ): Promise<{ status: number; body: string }> {
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(
        target,
        {
          method: "PUT",
          headers: { "content-type": "application/octet-stream", "content-length": bytes.byteLength },
          signal: AbortSignal.timeout(this.timeoutMs),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
          response.on("error", (cause) => reject(this.unavailable(url, cause, op, path, true)));
        },
      );
      request.on("error", (cause) => reject(this.unavailable(url, cause, op, path, true)));
      request.end(bytes);
    });
  }

  private unavailable(url: string, cause: unknown, op: string, path: string, datanode: boolean) {
    const origin = new URL(url).origin;
    const where = datanode
      ? `DataNode ${origin} (from the NameNode's redirect${this.datanodeUrl ? ", rewritten by HDFS_DATANODE_URL" : "; set HDFS_DATANODE_URL if this host cannot reach it"})`
      : "NameNode";
    const timedOut = cause instanceof Error && (cause.name === "TimeoutError" || cause.name === "AbortError");
    const reason = timedOut ? `no answer within ${this.timeoutMs} ms` : networkReason(cause);
    return new ServiceUnavailableError(SERVICE, origin, `${op} ${path} at the ${where}: ${reason}`, {
      cause,
      details: { op, path, datanode },
    });
  }

  private async failure(response: Response, op: string, path: string): Promise<WebHdfsError> {
    const text = await response.text().catch(() => "");
    return new WebHdfsError(op, path, response.status, parseRemoteException(text), this.url);
  }
}

function networkReason(cause: unknown): string {
  const inner = cause instanceof Error ? (cause.cause ?? cause) : cause;
  if (inner instanceof Error) {
    const code = (inner as NodeJS.ErrnoException).code;
    return code ? `${code} (${inner.message})` : inner.message;
  }
  return String(inner);
}

/** The client for the configured NameNode, user and DataNode address. */
export function createWebHdfs(config: Config, overrides: Partial<WebHdfsOptions> = {}): WebHdfsClient {
  return new WebHdfsClient({
    url: config.hdfs.webhdfsUrl,
    user: config.hdfs.user,
    datanodeUrl: config.hdfs.datanodeUrl,
    ...overrides,
  });
}
