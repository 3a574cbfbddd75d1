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
// msgpackr (the range payloads in Redis) reads strings with its native extractor by default, which
// hands out slices of one large string per payload block: every decoded event's fields keep the
// whole block alive. Without it, on the 885k benchmark: 110-164 MiB less peak RSS, CPU within the
// noise (BENCHMARKS.md, "msgpackr's string extraction"). The library's own switch; a user's value wins.
process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= "true";
await import(main.href);
