import { describe, expect, it } from "vitest";
import {
  isWebHdfsNotFound,
  parseRemoteException,
  rewriteRedirect,
  splitPath,
  WebHdfsError,
  webHdfsPath,
} from "./webhdfs.ts";

const location =
  "http://datanode-1.capline_default:9864/webhdfs/v1/capline/events/a%20b.parquet?op=CREATE&user.name=capline&namenoderpcaddress=namenode:8020&createflag=&createparent=true&overwrite=false";

describe("rewriteRedirect", () => {
  it("follows the Location as given when no DataNode URL is configured", () => {
    expect(rewriteRedirect(location, undefined)).toBe(location);
  });

  it("replaces scheme, host and port, keeping path and query byte for byte", () => {
    const out = rewriteRedirect(location, "http://127.0.0.1:9864");
    expect(out).toBe(
      "http://127.0.0.1:9864/webhdfs/v1/capline/events/a%20b.parquet?op=CREATE&user.name=capline&namenoderpcaddress=namenode:8020&createflag=&createparent=true&overwrite=false",
    );
  });

  it("can switch to https and keeps a path prefix of the DataNode URL (a reverse proxy)", () => {
    expect(rewriteRedirect("http://dn:9864/webhdfs/v1/x?op=OPEN", "https://proxy.example:8443/hdfs/")).toBe(
      "https://proxy.example:8443/hdfs/webhdfs/v1/x?op=OPEN",
    );
  });
});

describe("parseRemoteException", () => {
  it("reads the exception, class and message", () => {
    const body = JSON.stringify({
      RemoteException: {
        exception: "FileNotFoundException",
        javaClassName: "java.io.FileNotFoundException",
        message: "File does not exist: /nope",
      },
    });
    expect(parseRemoteException(body)).toEqual({
      exception: "FileNotFoundException",
      javaClassName: "java.io.FileNotFoundException",
      message: "File does not exist: /nope",
    });
  });

  it("returns undefined for bodies that are not a RemoteException", () => {
    expect(parseRemoteException("<html>502 Bad Gateway</html>")).toBeUndefined();
    expect(parseRemoteException('{"boolean":true}')).toBeUndefined();
    expect(parseRemoteException("null")).toBeUndefined();
  });
});

describe("WebHdfsError", () => {
  const remote = (exception: string) => ({ exception, message: `${exception} happened` });

  it("carries status, exception and message, and says not-found", () => {
    const e = new WebHdfsError("OPEN", "/x", 404, remote("FileNotFoundException"), "http://nn:9870");
    expect(e.code).toBe("SERVICE_ERROR");
    expect(e.status).toBe(404);
    expect(e.remoteMessage).toBe("FileNotFoundException happened");
    expect(e.message).toContain("HTTP 404 FileNotFoundException: FileNotFoundException happened");
    expect(e.retryable).toBe(false);
    expect(isWebHdfsNotFound(e)).toBe(true);
  });

  it("maps an existing destination to CONFLICT and not-found to false for others", () => {
    const e = new WebHdfsError("CREATE", "/x", 403, remote("FileAlreadyExistsException"), "u");
    expect(e.code).toBe("CONFLICT");
    expect(isWebHdfsNotFound(e)).toBe(false);
  });

  it("says a retry helps for 5xx, safe mode and standby, not for permissions", () => {
    expect(new WebHdfsError("MKDIRS", "/x", 503, undefined, "u").retryable).toBe(true);
    expect(new WebHdfsError("MKDIRS", "/x", 403, remote("SafeModeException"), "u").retryable).toBe(true);
    expect(new WebHdfsError("MKDIRS", "/x", 403, remote("StandbyException"), "u").retryable).toBe(true);
    expect(new WebHdfsError("MKDIRS", "/x", 403, remote("AccessControlException"), "u").retryable).toBe(
      false,
    );
    // A DataNode restarting: what the NameNode answers to CREATE meanwhile (seen in the HDFS outage test).
    const noDatanode = {
      exception: "IOException",
      message: "Failed to find datanode, suggest to check cluster health. excludeDatanodes=null",
    };
    expect(new WebHdfsError("CREATE", "/x", 403, noDatanode, "u").retryable).toBe(true);
    expect(new WebHdfsError("CREATE", "/x", 403, remote("IOException"), "u").retryable).toBe(false);
  });
});

describe("paths", () => {
  it("encodes each segment and refuses relative paths", () => {
    expect(webHdfsPath("/capline/events/dt=2019-10-01/a b+c.parquet")).toBe(
      "/webhdfs/v1/capline/events/dt%3D2019-10-01/a%20b%2Bc.parquet",
    );
    expect(webHdfsPath("/")).toBe("/webhdfs/v1/");
    expect(() => webHdfsPath("capline")).toThrow(/absolute/);
  });

  it("splits folder and name", () => {
    expect(splitPath("/a/b/c.parquet")).toEqual(["/a/b", "c.parquet"]);
    expect(splitPath("/c.parquet")).toEqual(["/", "c.parquet"]);
    expect(() => splitPath("/")).toThrow(/does not name a file/);
  });
});
