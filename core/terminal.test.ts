import { describe, expect, it } from "vitest";
import { screenRows } from "../test/support/terminal.ts";
import { formatLogLine } from "./logging.ts";
import { Progress } from "./progress.ts";
import { TerminalLine } from "./terminal.ts";

function fakeTerminal(columns = 120) {
  let screen = "";
  const stream = {
    isTTY: true,
    columns,
    write: (s: string) => {
      screen += s;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, output: () => screen };
}

describe("the terminal's last line", () => {
  it("prints log lines above the status line and draws the status again below them", () => {
    const { stream, output } = fakeTerminal();
    const line = new TerminalLine(stream);
    line.setStatus("process [####------]  40% 4,000 messages");
    line.writeAbove("WARN  12:00:00 dispatcher: Redis unreachable; retrying");
    line.setStatus("process [#####-----]  50% 5,000 messages");
    line.writeAbove("WARN  12:00:01 worker: slow");
    expect(screenRows(output())).toEqual([
      "WARN  12:00:00 dispatcher: Redis unreachable; retrying",
      "WARN  12:00:01 worker: slow",
      "process [#####-----]  50% 5,000 messages",
    ]);
    line.clearStatus();
    expect(screenRows(output()).at(-1)).toBe("");
  });

  it("cuts a status longer than the terminal, so that it never wraps", () => {
    const { stream, output } = fakeTerminal(20);
    new TerminalLine(stream).setStatus("x".repeat(50));
    expect(screenRows(output())).toEqual([`${"x".repeat(18)}…`]);
  });

  it("without a status, log lines are plain lines", () => {
    const { stream, output } = fakeTerminal();
    new TerminalLine(stream).writeAbove("one");
    expect(output()).toBe("one\n");
  });
});

describe("readable log lines", () => {
  it("shows level, local time, stage, message and the other fields", () => {
    const time = new Date(2026, 11, 1, 21, 40, 12).getTime();
    const json = JSON.stringify({
      level: "warn",
      time,
      pid: 1,
      hostname: "h",
      app: "capline",
      stage: "redis",
      url: "redis://127.0.0.1:6379",
      error: "connect ECONNREFUSED 127.0.0.1:6379",
      msg: "Redis unreachable; retrying",
    });
    expect(formatLogLine(json)).toBe(
      'WARN  21:40:12 redis: Redis unreachable; retrying url=redis://127.0.0.1:6379 error="connect ECONNREFUSED 127.0.0.1:6379"',
    );
    expect(formatLogLine(json, true).startsWith("\u001b[33mWARN \u001b[0m 21:40:12")).toBe(true);
    expect(formatLogLine("not json\n")).toBe("not json");
    const multiline = JSON.stringify({
      level: "warn",
      time,
      stage: "node",
      msg: "-1 is negative.\nTimeout set to 1.",
    });
    expect(formatLogLine(multiline)).toBe("WARN  21:40:12 node: -1 is negative. Timeout set to 1.");
  });
});

describe("a steady ETA", () => {
  it("follows the smoothed rate: one slow second barely moves it", () => {
    const { stream } = fakeTerminal();
    const bar = new Progress({ label: "x", unit: "events", stream });
    const realNow = Date.now;
    let now = realNow();
    Date.now = () => now;
    try {
      const etas: number[] = [];
      let done = 0;
      for (let second = 1; second <= 30; second++) {
        now += 1000;
        // 1,000 events a second, except a stall at second 20.
        done += second === 20 ? 0 : 1000;
        bar.update({ done, total: 100_000 }, true);
        const eta = /ETA (\d+):(\d+)/.exec(bar.render({ done, total: 100_000 }, now));
        etas.push(Number(eta?.[1]) * 60 + Number(eta?.[2]));
      }
      // At 29,000 done and ~1,000/s, about 71 s are left; the stall moved the ETA by a few seconds, not doubled it.
      expect(etas.at(-1)).toBeGreaterThan(65);
      expect(etas.at(-1)).toBeLessThan(85);
      expect(Math.abs((etas[19] ?? 0) - (etas[18] ?? 0))).toBeLessThan(12);
    } finally {
      Date.now = realNow;
    }
  });

  it("says 1 event, not 1 events", () => {
    const { stream } = fakeTerminal();
    const bar = new Progress({ label: "process", unit: "events", stream });
    expect(bar.render({ done: 1 })).toMatch(/^process 1 event /);
    expect(bar.render({ done: 2_500 })).toMatch(/^process 2,500 events /);
  });
});
