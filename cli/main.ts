/**
 * The `capline` entry (bin/capline.mjs loads the compiled form). `--version` loads nothing at all;
 * anything else builds the program with the modules the command needs (cli/program.ts).
 */
import { buildProgram, VERSION } from "./program.ts";

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
  process.stdout.write(`${VERSION}\n`);
} else {
  const program = await buildProgram(argv);
  await program.parseAsync(process.argv);
}
