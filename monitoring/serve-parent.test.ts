import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../core/config/index.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * `npx capline monitor serve` runs node under npx; stopping npx must not leave the server holding
 * its port. A shell stands for npx here: killed with SIGKILL, it cannot pass anything on.
 */
describe("capline monitor serve under a parent that goes away", () => {
  it("stops by itself when the process that started it is gone", async () => {
    const cli = join(PROJECT_ROOT, "bin", "capline.mjs");
    const parent = spawn(
      "sh",
      ["-c", `'${process.execPath}' '${cli}' monitor serve --port 0 & echo $!; wait`],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, LOG_LEVEL: "silent" },
      },
    );
    let stderr = "";
    parent.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const child = await new Promise<number>((resolve) =>
      parent.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    // Serving: it said where.
    for (let i = 0; i < 100 && !stderr.includes("serving"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain("capline monitor: serving");
    expect(alive(child)).toBe(true);
    parent.kill("SIGKILL");
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      await new Promise((r) => setTimeout(r, 100));
      gone = !alive(child);
    }
    if (!gone) process.kill(child, "SIGKILL");
    expect(gone, "the server outlived its parent by 5 s").toBe(true);
  }, 30_000);
});
