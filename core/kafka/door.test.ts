import { readdirSync, readFileSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../config/index.ts";

/**
 * core/kafka is the one door to Kafka (DESIGN.md, "Runtime and versions"): no other folder
 * imports a Kafka client package, other folders import core/kafka only through its face
 * (index.ts), and no source patches a library's module cache or overrides methods of the arrays
 * a library hands it.
 */

const KAFKA_PACKAGES = [
  "kafkajs",
  "@platformatic/kafka",
  "@confluentinc/kafka-javascript",
  "node-rdkafka",
  "kafka-node",
];

const SKIP = new Set(["node_modules", "dist", ".git", "coverage", "out"]);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Module specifiers of static and dynamic imports, re-exports and require calls. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) if (m[1]) found.push(m[1]);
  return found;
}

const isKafkaPackage = (spec: string) => KAFKA_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`));

const files = sources(PROJECT_ROOT).map((path) => ({
  path: relative(PROJECT_ROOT, path).split(sep).join("/"),
  text: readFileSync(path, "utf8"),
}));

describe("core/kafka is the one door to Kafka", () => {
  it("finds the sources it checks (the scan itself works)", () => {
    expect(files.some((f) => f.path === "core/kafka/index.ts")).toBe(true);
    expect(files.some((f) => f.path.startsWith("ingestion/"))).toBe(true);
    expect(
      specifiers(`import { A } from "kafkajs";\nconst x = require('kafkajs/src/x');\nawait import("a")`),
    ).toEqual(["kafkajs", "a", "kafkajs/src/x"]);
  });

  it("no file outside core/kafka imports a Kafka client package", () => {
    const offenders = files
      .filter((f) => !f.path.startsWith("core/kafka/"))
      .flatMap((f) =>
        specifiers(f.text)
          .filter(isKafkaPackage)
          .map((s) => `${f.path} imports ${s}`),
      );
    expect(offenders).toEqual([]);
  });

  it("other folders import core/kafka only through its face (index.ts)", () => {
    const offenders = files
      .filter((f) => !f.path.startsWith("core/kafka/"))
      .flatMap((f) =>
        specifiers(f.text)
          .filter((s) => s.startsWith("."))
          .map((s) => posix.normalize(posix.join(posix.dirname(f.path), s)))
          .filter((target) => target.startsWith("core/kafka/") && target !== "core/kafka/index.ts")
          .map((target) => `${f.path} imports ${target}`),
      );
    expect(offenders).toEqual([]);
  });

  it("no source rewrites the module cache or overrides a library array's reduce", () => {
    // Spelled in pieces, so this file does not find itself.
    const patched = new RegExp(
      `${["require", "\\.cache"].join("")}|${["define", "Property\\(.*reduce"].join("")}`,
    );
    const offenders = files.filter((f) => patched.test(f.text)).map((f) => f.path);
    expect(offenders).toEqual([]);
  });

  it("only core/kafka depends on the Kafka client in package.json", () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const all = { ...pkg.dependencies, ...pkg.devDependencies };
    expect(Object.keys(all).filter(isKafkaPackage)).toEqual(["@platformatic/kafka"]);
  });
});
