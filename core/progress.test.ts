import { describe, expect, it } from "vitest";
import { formatDuration, Progress } from "./progress.ts";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = { isTTY, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe("Progress", () => {
  it("renders percentage, rate, MB/s, ETA and extra counters", () => {
    const { stream } = fakeStream(true);
    const p = new Progress({ label: "ingest f.csv", totalBytes: 1_000_000, stream });
    const line = p.render({ done: 5000, bytes: 250_000, extra: { rejected: 3 } }, Date.now() + 1000);
    expect(line).toMatch(/^ingest f\.csv \[#####-+\] {2}25% 5,000 rows/);
    expect(line).toMatch(/rows\/s/);
    expect(line).toMatch(/0\.[23] MB\/s/);
    expect(line).toMatch(/ETA 0:0[34]/);
    expect(line).toMatch(/rejected 3$/);
  });

  it("measures against a total of units when there is no byte total", () => {
    const { stream } = fakeStream(true);
    const p = new Progress({ label: "process", unit: "messages", stream });
    const line = p.render({ done: 3000, total: 4000, extra: { lag: 1000 } }, Date.now() + 3000);
    expect(line).toMatch(
      /^process \[###############-----\] {2}75% 3,000 messages 1,000 messages\/s ETA 0:01 lag 1,000$/,
    );
    expect(p.render({ done: 10, total: 0 })).not.toMatch(/ETA|%/);
  });

  it("draws nothing when the stream is not a terminal", () => {
    const { stream, writes } = fakeStream(false);
    const p = new Progress({ label: "x", stream });
    p.update({ done: 1 }, true);
    p.done();
    expect(writes).toEqual([]);
  });

  it("throttles redraws and clears its line at the end", () => {
    const { stream, writes } = fakeStream(true);
    const p = new Progress({ label: "x", stream });
    p.update({ done: 1 }, true);
    p.update({ done: 2 });
    p.done();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toBe("\r\u001b[K");
  });

  it("formats durations", () => {
    expect(formatDuration(5)).toBe("0:05");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(Number.NaN)).toBe("--:--");
  });
});
