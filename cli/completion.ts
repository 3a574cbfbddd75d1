import type { Argument, Command, Option } from "commander";
import { withExamples } from "../core/cli/index.ts";
import { UsageError } from "../core/errors.ts";

/**
 * `capline completion bash|zsh|fish`: a completion script written from the program itself (every
 * command, subcommand, option and the values an argument takes), so it never lags behind the CLI.
 * Files complete where no word fits (ingest, inspect).
 */

export const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = (typeof SHELLS)[number];

interface Node {
  name: string;
  summary: string;
  options: { flag: string; description: string }[];
  /** Values of its positional arguments (choices, report names, service names). */
  values: string[];
  children: Node[];
}

const visible = (c: Command) => c.name() !== "help" && !(c as Command & { _hidden?: boolean })._hidden;

function nodeOf(command: Command, values: Record<string, string[]>, path: string): Node {
  const options = (command.options as readonly Option[])
    .filter((o) => o.long !== undefined && !o.hidden)
    .map((o) => ({ flag: o.long as string, description: o.description }));
  const argValues = (command.registeredArguments as readonly Argument[]).flatMap((a) => a.argChoices ?? []);
  return {
    name: command.name(),
    summary: command.summary() || command.description().split("\n")[0] || "",
    options: [...options, { flag: "--help", description: "show help and examples" }],
    values: [...new Set([...argValues, ...(values[path] ?? [])])],
    children: command.commands.filter(visible).map((c) => nodeOf(c, values, `${path} ${c.name()}`.trim())),
  };
}

const words = (list: readonly string[]) => list.join(" ");

function bash(root: Node): string {
  const cases = root.children
    .map((c) => {
      const own = words([...c.values, ...c.options.map((o) => o.flag)]);
      if (c.children.length === 0) return `    ${c.name}) words="${own}" ;;`;
      const subs = c.children
        .map((s) => `        ${s.name}) words="${words([...s.values, ...s.options.map((o) => o.flag)])}" ;;`)
        .join("\n");
      return `    ${c.name})\n      case "$sub" in\n${subs}\n        *) words="${words([...c.children.map((s) => s.name), ...c.options.map((o) => o.flag)])}" ;;\n      esac ;;`;
    })
    .join("\n");
  return `# capline completion for bash. Load it with:
#   source <(capline completion bash)          # this shell
#   capline completion bash > ~/.local/share/bash-completion/completions/capline   # every shell
_capline() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="\${COMP_WORDS[1]}" sub="\${COMP_WORDS[2]}" words=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${words(root.children.map((c) => c.name))} --help --version" -- "$cur"))
    return
  fi
  case "$cmd" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _capline capline
`;
}

function zsh(root: Node): string {
  return `#compdef capline
# capline completion for zsh. Load it with:
#   source <(capline completion zsh)            # this shell
#   capline completion zsh > "\${fpath[1]}/_capline"   # every shell (then compinit)
autoload -U +X bashcompinit && bashcompinit
${bash(root).split("\n").slice(3).join("\n")}`;
}

function fish(root: Node): string {
  const quote = (s: string) => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  const lines = [
    "# capline completion for fish. Load it with:",
    "#   capline completion fish | source                                  # this shell",
    "#   capline completion fish > ~/.config/fish/completions/capline.fish  # every shell",
  ];
  for (const c of root.children) {
    lines.push(`complete -c capline -n __fish_use_subcommand -a ${c.name} -d ${quote(c.summary)}`);
    const inCommand = `__fish_seen_subcommand_from ${c.name}`;
    for (const s of c.children)
      lines.push(`complete -c capline -n ${quote(inCommand)} -a ${s.name} -d ${quote(s.summary)}`);
    for (const v of c.values) lines.push(`complete -c capline -n ${quote(inCommand)} -a ${v}`);
    for (const o of c.options)
      lines.push(
        `complete -c capline -n ${quote(inCommand)} -l ${o.flag.slice(2)} -d ${quote(o.description)}`,
      );
    for (const s of c.children) {
      const inSub = `__fish_seen_subcommand_from ${c.name}; and __fish_seen_subcommand_from ${s.name}`;
      for (const v of s.values) lines.push(`complete -c capline -n ${quote(inSub)} -a ${v}`);
      for (const o of s.options)
        lines.push(`complete -c capline -n ${quote(inSub)} -l ${o.flag.slice(2)} -d ${quote(o.description)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The completion script for a shell, from the program's commands. */
export function completionScript(
  program: Command,
  shell: Shell,
  values: Record<string, string[]> = {},
): string {
  const root = nodeOf(program, values, "");
  return shell === "bash" ? bash(root) : shell === "zsh" ? zsh(root) : fish(root);
}

/** Values of arguments that take a name from a list the command checks itself. */
async function knownValues(): Promise<Record<string, string[]>> {
  const [{ REPORT_NAMES }, { SERVICE_NAMES }] = await Promise.all([
    import("../analytics/options.ts"),
    import("../stack/render.ts"),
  ]);
  const services = [...SERVICE_NAMES];
  return {
    report: [...REPORT_NAMES, "all"],
    "stack install": services,
    "stack up": services,
    "stack down": services,
    "stack status": services,
    "stack logs": services,
  };
}

export function registerCompletion(program: Command): void {
  withExamples(
    program
      .command("completion")
      .description(
        "print a completion script for bash, zsh or fish (commands, options, report and service names)",
      )
      .argument("<shell>", SHELLS.join(" | "))
      .action(async (shell: string) => {
        if (!(SHELLS as readonly string[]).includes(shell)) {
          const { reportError } = await import("../core/cli/index.ts");
          reportError(new UsageError(`unknown shell "${shell}"; expected ${SHELLS.join(", ")}`), false);
          process.exitCode = 2;
          return;
        }
        process.stdout.write(completionScript(program, shell as Shell, await knownValues()));
      }),
    [
      "capline completion bash > ~/.local/share/bash-completion/completions/capline",
      `capline completion zsh > "\${fpath[1]}/_capline"`,
      "capline completion fish > ~/.config/fish/completions/capline.fish",
    ],
  );
}
