import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../core/config/index.ts";
import { ExitCode } from "../core/exit-codes.ts";

/**
 * `capline demo` on a fresh machine without Docker, Java, Maven, Go or redis-server (a PATH that
 * holds only Node, an empty artifact cache, services at addresses where nothing listens): it must
 * stop before starting anything and list every missing program with its install command. With no
 * apt-get on that PATH it cannot install anything, whoever runs it.
 */
describe("capline demo on a machine that lacks the prerequisites", () => {
  const work = mkdtempSync(join(tmpdir(), "capline-demo-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const run = (
    home: string,
    path = dirname(process.execPath),
  ): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const closed = "127.0.0.1:9";
      const child = spawn(process.execPath, [join(PROJECT_ROOT, "bin", "capline.mjs"), "demo"], {
        env: {
          PATH: path,
          HOME: home,
          CAPLINE_CACHE_DIR: join(home, "cache"),
          CAPLINE_STACK_DIR: join(home, "state"),
          KAFKA_BROKERS: closed,
          KAFKA_CONNECT_TIMEOUT_MS: "0",
          ELASTICSEARCH_URL: `http://${closed}`,
          MINIO_ENDPOINT: `http://${closed}`,
          WEBHDFS_URL: `http://${closed}`,
          HDFS_DATANODE_URL: `http://${closed}`,
          REDIS_URL: `redis://${closed}`,
          KIBANA_URL: `http://${closed}`,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });

  it("stops before anything starts, naming every missing program and how to install it", async () => {
    const home = mkdtempSync(join(work, "home-"));
    const result = await run(home);
    expect(result.code).toBe(ExitCode.USAGE);
    const text = result.stderr;
    expect(text).toContain("no Docker engine answers; nothing was installed: no apt-get on this machine");
    for (const [program, install] of [
      ["java", "apt-get install openjdk-17-jdk-headless"],
      ["mvn", "apt-get install maven"],
      ["go", "install Go 1.24+ from https://go.dev/dl/"],
      ["redis-server", "apt-get install redis-server"],
    ])
      expect(text, program).toMatch(
        new RegExp(`\\b${program}\\s+.*\\n\\s+→ ${(install ?? "").replace(/[.+]/g, "\\$&")}`),
      );
    expect(text).toContain("nothing was started");
    // No step ran: no "▶" line, and the stack wrote nothing (no logs, pid files or data).
    expect(text).not.toContain("▶");
    expect(readdirSync(home).sort()).toEqual([]);
  }, 60_000);

  it("as root, installs the Debian packages it can (saying so) and lists what is still missing", async () => {
    // apt-get and apt-cache stand-ins: apt-cache knows the packages, apt-get records its calls, and
    // "installing" redis-server puts a redis-server on PATH.
    const home = mkdtempSync(join(work, "home-"));
    const bin = join(home, "bin");
    mkdirSync(bin);
    const calls = join(home, "apt-calls");
    const script = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    script(
      "apt-cache",
      'case "$2" in openjdk-17-jdk-headless|maven|redis-server) echo "  Candidate: 1.0-1" ;; *) echo "  Candidate: (none)" ;; esac',
    );
    script(
      "apt-get",
      `echo "$*" >> ${calls}\ncase " $* " in *" redis-server "*) printf '#!/bin/sh\\n' > ${bin}/redis-server; /bin/chmod +x ${bin}/redis-server ;; esac`,
    );
    const result = await run(home, `${bin}:${dirname(process.execPath)}`);
    const root = process.getuid?.() === 0;
    expect(result.code, result.stderr).toBe(ExitCode.USAGE);
    if (root) {
      expect(result.stderr).toContain("Updating the package lists (as root)");
      expect(result.stderr).toContain(
        "Installing Debian packages as root: apt-get install openjdk-17-jdk-headless maven redis-server",
      );
      expect(readFileSync(calls, "utf8").trim().split("\n")).toEqual([
        "update -qq",
        "install -y -qq --no-install-recommends openjdk-17-jdk-headless maven redis-server",
      ]);
      // redis-server came; the stand-in installed no Java, Maven or Go, and Go has no package here.
      expect(result.stderr).not.toMatch(/redis-server\s+not installed/);
      expect(result.stderr).toMatch(/java\s+not installed/);
      expect(result.stderr).toMatch(/go\s+not installed/);
    } else {
      // Not root, and no sudo on this PATH: nothing is installed, and the reason is said.
      expect(result.stderr).toContain("nothing was installed: not root, and no sudo");
      expect(readdirSync(home)).not.toContain("apt-calls");
    }
    expect(result.stderr).toContain("nothing was started");
  }, 60_000);
});
