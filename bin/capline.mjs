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

// `capline process` runs for as long as events come, with a working set of 150-250 MB. On a machine
// with this much memory V8 sets a 4 GiB heap limit and 64 MiB semi-spaces, and then lets its old
// space grow to three or four times the live set between full collections (the growth factor it
// allows falls with the heap limit). V8 reads these settings only as it starts, so this command
// replaces itself (same pid, stdio, arguments and environment) with a Node that has them; a user's
// own value (a node flag or NODE_OPTIONS) wins. On the 885k benchmark: peak RSS 843-872 -> 593-678
// MiB for 9-13 % more CPU (BENCHMARKS.md, "Memory: shared strings, the write cache off the heap,
// V8's heap settings").
const HEAP_FLAGS = ["--max-old-space-size=1536", "--max-semi-space-size=32"];
// The command as cli/program.ts `commandAsked` reads it (the first argument that is not an option),
// spelled out here: loading the CLI's modules before replacing the process would be wasted.
const asked = process.argv.slice(2).find((a) => !a.startsWith("-"));
if (asked === "process" && typeof process.execve === "function") {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].map((a) =>
    a.split("=")[0].replace(/_/g, "-"),
  );
  const missing = HEAP_FLAGS.filter((flag) => !given.includes(flag.split("=")[0]));
  if (missing.length > 0)
    try {
      process.execve(process.execPath, [
        process.execPath,
        ...missing,
        ...process.execArgv,
        ...process.argv.slice(1),
      ]);
    } catch {
      // execve refused (a sandbox, an unusual platform): run on with V8's defaults.
    }
}
await import(main.href);
