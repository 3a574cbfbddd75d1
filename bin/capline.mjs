#!/usr/bin/env node
// The CLI runs the compiled JavaScript in dist/ (`npm run build`, also run by `npm ci` through
// `prepare`). Without it, say how to get it instead of failing on a missing module.
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    "capline: the compiled CLI (dist/) is missing; run `npm ci` or `npm run build` in the capline folder\n",
  );
  process.exit(2);
}
await import(main.href);
