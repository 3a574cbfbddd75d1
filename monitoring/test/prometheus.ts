/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests: every line must be
 * a HELP, a TYPE or a sample of a family whose TYPE came first; names, labels, escapes and values
 * follow the grammar. Throws on the first line that does not.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: string;
  help: string;
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(raw: string, line: string): number {
  if (raw === "NaN") return Number.NaN;
  if (raw === "+Inf") return Number.POSITIVE_INFINITY;
  if (raw === "-Inf") return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`bad value "${raw}" in: ${line}`);
  return Number(raw);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`label without "=" in: ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let j = eq + 2;
    let value = "";
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === "\\") {
        const n = text[j + 1];
        if (n === "\\") value += "\\";
        else if (n === '"') value += '"';
        else if (n === "n") value += "\n";
        else throw new Error(`bad escape \\${n} in: ${line}`);
        j += 2;
      } else if (c === '"') {
        j++;
        break;
      } else {
        value += c;
        j++;
      }
    }
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    labels[name] = value;
    if (j === text.length) break;
    if (text[j] !== ",") throw new Error(`expected "," after label ${name} in: ${line}`);
    i = j + 1;
  }
  return labels;
}

function familyOf(name: string, families: Map<string, PromFamily>): PromFamily | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f && (f.type === "histogram" || f.type === "summary")) return f;
    }
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  if (text !== "" && !text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) {
      const rest = line.slice(7);
      const space = rest.indexOf(" ");
      const name = space < 0 ? rest : rest.slice(0, space);
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      const f = families.get(name) ?? { name, type: "untyped", help: "", samples: [] };
      f.help = space < 0 ? "" : rest.slice(space + 1);
      families.set(name, f);
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type, extra] = line.slice(7).split(" ");
      if (!name || !NAME.test(name) || !type || !TYPES.has(type) || extra !== undefined)
        throw new Error(`bad TYPE line: ${line}`);
      const f = families.get(name) ?? { name, type, help: "", samples: [] };
      if (f.samples.length > 0) throw new Error(`TYPE after samples: ${line}`);
      f.type = type;
      families.set(name, f);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const name = m[1] as string;
    const family = familyOf(name, families);
    if (!family) throw new Error(`sample of ${name} without a TYPE before it: ${line}`);
    family.samples.push({
      name,
      labels: m[3] ? parseLabels(m[3], line) : {},
      value: parseValue(m[4] as string, line),
    });
  }
  return families;
}

/** The value of one series, or undefined when absent. */
export function sampleValue(
  families: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families.values())
    for (const s of f.samples)
      if (
        s.name === name &&
        Object.keys(labels).length === Object.keys(s.labels).length &&
        Object.entries(labels).every(([k, v]) => s.labels[k] === v)
      )
        return s.value;
  return undefined;
}
