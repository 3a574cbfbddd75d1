import { existsSync, readFileSync } from "node:fs";

/**
 * Reads a dotenv file: `KEY=value` lines, `#` comments, optional `export `, and values in single
 * or double quotes (double quotes understand \n and \"). Kept to the subset Docker Compose reads the
 * same way, because Compose interpolates the same `.env`.
 */
export function parseEnvFile(text: string, fileName = ".env"): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new Error(`${fileName}:${index + 1}: expected KEY=value, got "${line}"`);
    const key = match[1] as string;
    let value = match[2] ?? "";
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value
        .slice(1, -1)
        .replace(/\\n/g, "\n")
        .replace(/\\(["\\])/g, "$1");
    } else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1);
    } else {
      const hash = value.search(/\s#/);
      if (hash >= 0) value = value.slice(0, hash).trimEnd();
    }
    out[key] = value;
  });
  return out;
}

export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  return parseEnvFile(readFileSync(path, "utf8"), path.split("/").pop());
}
