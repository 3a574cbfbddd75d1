import { Command } from "commander";
import { configureErrors } from "../core/cli/index.ts";
import { registerStackCommands } from "./cli.ts";

/**
 * `capline stack` on its own: `npx tsx stack/main.ts down`. The stack is infrastructure; this entry
 * point loads nothing but the stack and the core, so services can still be stopped (by CI's cleanup,
 * say) when another part of the CLI fails to load.
 */
const program = new Command("capline-stack").description("the local service stack (see docs/stack.md)");
configureErrors(program);
registerStackCommands(program);
await program.parseAsync(["node", "capline", "stack", ...process.argv.slice(2)]);
