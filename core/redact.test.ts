import { describe, expect, it } from "vitest";
import { loadConfig, secretValues } from "./config/index.ts";
import { escapeControl, maskUrlCredentials, Redactor } from "./redact.ts";

describe("maskUrlCredentials", () => {
  it.each([
    ["redis://:S3CRET@127.0.0.1:6379", "redis://***@127.0.0.1:6379"],
    ["redis://user:S3CRET@host:6379/0", "redis://***@host:6379/0"],
    ["rediss://default:S3CRET@host", "rediss://***@host"],
    // Malformed: an @ or a / inside the password; the whole userinfo goes.
    ["redis://:S3@CRET@host:6379", "redis://***@host:6379"],
    ["redis://:S3/CRET@host:6379", "redis://***@host:6379"],
    ["http://u:S3CRET@es:9200 is down", "http://***@es:9200 is down"],
    ['{"url":"redis://:S3CRET@h:1","other":"x@y"}', '{"url":"redis://***@h:1","other":"x@y"}'],
    ["no url here, a@b.c", "no url here, a@b.c"],
    ["http://127.0.0.1:9200", "http://127.0.0.1:9200"],
  ])("%s", (input, expected) => {
    expect(maskUrlCredentials(input)).toBe(expected);
    expect(maskUrlCredentials(input)).not.toContain("S3CRET");
    expect(maskUrlCredentials(input)).not.toContain("CRET");
  });
});

describe("escapeControl", () => {
  it("makes escape sequences, CR, NUL and bidi overrides visible and inert, keeps newlines and tabs", () => {
    expect(escapeControl("a\x1b[31mred\x1b[0m\r\0b\u202ec\n\td")).toBe(
      "a\\x1b[31mred\\x1b[0m\\x0d\\x00b\\u202ec\n\td",
    );
    expect(escapeControl("plain €")).toBe("plain €");
    expect(escapeControl("\x9b2J")).toBe("\\x9b2J");
  });
});

describe("Redactor", () => {
  it("replaces secret values (also percent-encoded) and URL passwords, longest first", () => {
    const r = new Redactor();
    r.setSecrets(["S3CRET", "S3CRET-longer", "p@ss word", "abc", undefined]);
    expect(r.redact("a S3CRET-longer b S3CRET c")).toBe("a [redacted] b [redacted] c");
    expect(r.redact("q=p%40ss%20word")).toBe("q=[redacted]");
    expect(r.redact("abc")).toBe("abc"); // too short to be told from ordinary words
    expect(r.redact("redis://:other@h")).toBe("redis://***@h");
  });

  it("gets the Redis password from REDIS_URL into the configuration's secrets", () => {
    const config = loadConfig({ env: { REDIS_URL: "redis://:S3CRET@127.0.0.1:6379" }, root: "/nonexistent" });
    expect(secretValues(config)).toContain("S3CRET");
    const encoded = loadConfig({
      env: { REDIS_URL: "redis://:S3%40CRET@127.0.0.1:6379" },
      root: "/nonexistent",
    });
    expect(secretValues(encoded)).toContain("S3@CRET");
  });
});
