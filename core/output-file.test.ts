import {
  linkSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CaplineError } from "./errors.ts";
import { exitCodeFor } from "./exit-codes.ts";
import { openOutputFile, writeOutputFile } from "./output-file.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "capline-out-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The error a call throws, checked to be the one-line usage error (exit 2) naming the flag. */
function refusal(fn: () => void, flag = "--out"): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CaplineError);
    expect(exitCodeFor(error)).toBe(2);
    const message = (error as Error).message;
    expect(message.startsWith(`${flag} `)).toBe(true);
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a refusal");
}

describe("writeOutputFile", () => {
  it("creates a new file and its missing folders", () => {
    const path = join(dir, "a", "b", "report.md");
    writeOutputFile(path, "# hi\n", { flag: "--out" });
    expect(readFileSync(path, "utf8")).toBe("# hi\n");
    expect(readdirSync(join(dir, "a", "b"))).toEqual(["report.md"]); // no temporary file left
  });

  it("refuses an existing file without --overwrite and leaves it byte-identical", () => {
    const path = join(dir, "r.csv");
    writeFileSync(path, "precious");
    expect(refusal(() => writeOutputFile(path, "new", { flag: "--out" }))).toContain(
      "the file exists; add --overwrite to replace it",
    );
    expect(readFileSync(path, "utf8")).toBe("precious");
    writeOutputFile(path, "new", { flag: "--out", overwrite: true });
    expect(readFileSync(path, "utf8")).toBe("new");
  });

  it("does not follow a symbolic link, even with --overwrite", () => {
    const target = join(dir, "target.txt");
    writeFileSync(target, "precious");
    const link = join(dir, "link.txt");
    symlinkSync(target, link);
    expect(refusal(() => writeOutputFile(link, "x", { flag: "--out", overwrite: true }))).toContain(
      "symbolic link",
    );
    const dangling = join(dir, "dangling.txt");
    symlinkSync(join(dir, "nowhere", "file"), dangling);
    refusal(() => writeOutputFile(dangling, "x", { flag: "--out" }));
    expect(readFileSync(target, "utf8")).toBe("precious");
    expect(readdirSync(dir).sort()).toEqual(["dangling.txt", "link.txt", "target.txt"]);
  });

  it("writes to a device through a link (/dev/stdout style): nothing to destroy there", () => {
    const link = join(dir, "null");
    symlinkSync("/dev/null", link);
    writeOutputFile(link, "discarded", { flag: "--out" });
    writeOutputFile("/dev/null", "discarded", { flag: "--out" });
  });

  it("refuses a folder, an empty path, and a folder that cannot be created, in one line", () => {
    expect(refusal(() => writeOutputFile(dir, "x", { flag: "--out" }))).toContain("is a folder");
    refusal(() => writeOutputFile("", "x", { flag: "--out" }));
    writeFileSync(join(dir, "file"), "");
    expect(
      refusal(() => writeOutputFile(join(dir, "file", "sub", "r.md"), "x", { flag: "--out" })),
    ).toContain("cannot create the folder");
  });
});

describe("openOutputFile", () => {
  it("refuses an input by inode: the same path, another spelling, a hard link, a link to it", () => {
    const input = join(dir, "f.csv");
    writeFileSync(input, "a,b\n1,2\n");
    const hard = join(dir, "hard.csv");
    linkSync(input, hard);
    const soft = join(dir, "soft.csv");
    symlinkSync(input, soft);
    for (const [out, inputs] of [
      [input, [input]],
      [join(dir, ".", "f.csv"), [input]],
      [hard, [input]],
      [input, [soft]],
    ] as const) {
      expect(
        refusal(() => openOutputFile(out, { flag: "--rejects", inputs, overwrite: true }), "--rejects"),
      ).toMatch(/input/);
    }
    expect(readFileSync(input, "utf8")).toBe("a,b\n1,2\n");
  });

  it("streams into a new file, and appends only when asked", () => {
    const path = join(dir, "out.csv");
    const out = openOutputFile(path, { flag: "--rejects", inputs: ["-"] });
    out.write("one\n");
    out.write(Buffer.from("two\n"));
    out.close();
    expect(readFileSync(path, "utf8")).toBe("one\ntwo\n");
    const more = openOutputFile(path, { flag: "--out", append: true });
    more.write("three\n");
    more.close();
    expect(readFileSync(path, "utf8")).toBe("one\ntwo\nthree\n");
    const replaced = openOutputFile(path, { flag: "--out", overwrite: true });
    expect(replaced.existed).toBe(true);
    replaced.write("new\n");
    replaced.close();
    expect(readFileSync(path, "utf8")).toBe("new\n");
  });

  it("names the overwrite flag of the command", () => {
    const path = join(dir, "x");
    writeFileSync(path, "");
    expect(refusal(() => openOutputFile(path, { flag: "--out", overwriteFlag: "--force" }))).toContain(
      "add --force",
    );
  });
});
