import { spawnSync } from "node:child_process";
import type { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { completionScript } from "./completion.ts";
import { buildProgram, REGISTRARS, SUMMARIES } from "./program.ts";

/** Every command of the CLI, as the program registers them, with its path. */
function walk(command: Command, path: string[] = []): { path: string; command: Command }[] {
  return command.commands
    .filter((c) => c.name() !== "help")
    .flatMap((c) => [{ path: [...path, c.name()].join(" "), command: c }, ...walk(c, [...path, c.name()])]);
}

function helpOf(command: Command): string {
  let text = "";
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

describe("the CLI's help", () => {
  let program: Command;
  beforeAll(async () => {
    program = await buildProgram([]);
  }, 60_000);

  it("lists every top-level command with a one-line summary", () => {
    const names = program.commands.map((c) => c.name()).sort();
    expect(names).toEqual(Object.keys(REGISTRARS).sort());
    expect(Object.keys(SUMMARIES).sort()).toEqual(names);
    const top = helpOf(program);
    for (const c of program.commands) {
      expect(c.summary(), c.name()).toBe(SUMMARIES[c.name()]);
      // One line at 80 columns: the commands column plus the summary.
      const row = top
        .split("\n")
        .find((l) => l.trimStart().startsWith(`${c.name()} `) || l.trim() === c.name());
      expect(row, c.name()).toContain(c.summary());
    }
  });

  it("gives examples on every command and subcommand", () => {
    const commands = walk(program);
    expect(commands.length).toBeGreaterThan(20);
    for (const { path, command } of commands)
      expect(helpOf(command), path).toMatch(/\nExamples:\n {2}\$ capline /);
  });
});

describe("shell completion", () => {
  let program: Command;
  beforeAll(async () => {
    program = await buildProgram(["completion"]);
  }, 60_000);

  const complete = (script: string, words: string[]): string[] => {
    const line = words.map((w) => `'${w}'`).join(" ");
    const result = spawnSync(
      "bash",
      [
        "-c",
        `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _capline; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: "utf8" },
    );
    expect(result.stderr).toBe("");
    return result.stdout.split("\n").filter((w) => w !== "");
  };

  it("bash completes commands, subcommands, options and names, from the program itself", () => {
    const script = completionScript(program, "bash", {
      report: ["overview", "revenue"],
      "stack up": ["redis"],
    });
    expect(complete(script, ["capline", "re"]).sort()).toEqual(["report", "reset"]);
    expect(complete(script, ["capline", "stack", "s"])).toEqual(["status"]);
    expect(complete(script, ["capline", "stack", "up", "re"])).toEqual(["redis"]);
    expect(complete(script, ["capline", "report", "ov"])).toEqual(["overview"]);
    expect(complete(script, ["capline", "process", "dis"])).toEqual(["dispatcher"]);
    expect(complete(script, ["capline", "ingest", "--rej"])).toEqual(["--rejects"]);
    expect(complete(script, ["capline", "doctor", "--"])).toEqual(["--json", "--help"]);
  });

  it("zsh loads the same function through bashcompinit; fish gets one line per word", () => {
    const zsh = completionScript(program, "zsh");
    expect(zsh.startsWith("#compdef capline\n")).toBe(true);
    expect(zsh).toContain("autoload -U +X bashcompinit && bashcompinit");
    expect(zsh).toContain("complete -o default -F _capline capline");
    const fish = completionScript(program, "fish");
    for (const c of program.commands)
      expect(fish).toContain(`complete -c capline -n __fish_use_subcommand -a ${c.name()} -d `);
    expect(fish).toContain("complete -c capline -n '__fish_seen_subcommand_from ingest' -l rejects -d ");
    expect(fish).toContain("complete -c capline -n '__fish_seen_subcommand_from stack' -a up -d ");
  });
});
