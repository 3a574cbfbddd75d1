// Command compose-validate loads Compose files with compose-go, the library `docker compose` itself
// uses, so the files are checked against the Compose Specification's JSON schema and its
// consistency rules (unknown services in depends_on, bad types, unknown keys...) exactly as the
// real tool would check them, on a machine where no Docker engine runs.
//
// It prints the normalized, interpolated model as JSON on stdout (exit 0), or the loader's error on
// stderr (exit 1). Usage errors exit 2.
//
//	compose-validate [-env-file FILE]... [-e KEY=VALUE]... [-os-env] [-profile P]... FILE...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var envFiles, envs, profiles listFlag
	flag.Var(&envFiles, "env-file", "env file used for interpolation (default: .env beside the first file)")
	flag.Var(&envs, "e", "KEY=VALUE set for interpolation; wins over the OS environment and env files")
	osEnv := flag.Bool("os-env", false, "also read the OS environment, as docker compose does "+
		"(off by default so results do not depend on the caller's shell)")
	flag.Var(&profiles, "profile", "profile to enable (default: all, so every service is checked)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: compose-validate [-env-file FILE]... [-e KEY=VALUE]... [-os-env] [-profile P]... FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	files := flag.Args()
	if len(files) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, kv := range envs {
		if !strings.Contains(kv, "=") {
			fmt.Fprintf(os.Stderr, "compose-validate: -e %q is not KEY=VALUE\n", kv)
			os.Exit(2)
		}
	}
	if len(profiles) == 0 {
		profiles = listFlag{"*"}
	}

	// As docker compose does: the project directory is the first file's folder, and variables
	// are looked up first in explicit values, then the OS environment, then the env files.
	workDir, err := filepath.Abs(filepath.Dir(files[0]))
	if err != nil {
		fail(err)
	}
	opts := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(workDir),
		cli.WithName("capline"),
		cli.WithEnv(envs),
	}
	if *osEnv {
		opts = append(opts, cli.WithOsEnv)
	}
	opts = append(opts,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	options, err := cli.NewProjectOptions(files, opts...)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(out)
	os.Stdout.Write([]byte("\n"))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "compose-validate: %v\n", err)
	os.Exit(1)
}
