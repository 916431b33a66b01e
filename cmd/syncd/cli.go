package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/alecthomas/kong"
)

// Exit codes, documented in the README. Usage errors do not share a code with
// "changes pending", so a script that checks `syncd plan` for 2 is never fooled by
// a typo.
const (
	exitOK      = 0
	exitError   = 1  // the command failed: configuration, store, Salesforce, a failed run
	exitPending = 2  // plan: changes are pending
	exitPartial = 3  // apply: the run finished, but some actions failed or wait for approval
	exitPaused  = 4  // apply: the org's remaining allowance fell below the reserve
	exitUsage   = 64 // the command line is wrong (EX_USAGE)
)

// env is what the process gives a command: its streams, its environment and its
// clock, so that tests run commands in-process.
type env struct {
	ctx              context.Context
	stdout, stderr   io.Writer
	lookupEnv        func(string) (string, bool)
	now              func() time.Time
	stderrIsTerminal bool
	// reconcile and reload receive a value for each SIGUSR1 and SIGHUP (from main,
	// which owns signals); nil in tests that send none.
	reconcile, reload <-chan struct{}
}

// cli is the command line. Kong (github.com/alecthomas/kong) reads it from these
// struct tags: subcommands, flags with environment fallbacks and generated help,
// without a hand-written parser or global flag state.
type cli struct {
	Config string `short:"c" env:"SYNCD_CONFIG" default:"syncd.yaml" placeholder:"FILE" help:"Configuration file (\\$SYNCD_CONFIG)."`

	Run         runCmd         `cmd:"" help:"Run the daemon: reconcile on schedule and on request as the leader, serve the admin API and metrics."`
	Trigger     triggerCmd     `cmd:"" help:"Ask the running daemon to reconcile now."`
	Plan        planCmd        `cmd:"" help:"Show what a cycle would change, writing nothing. Exit 0: nothing to do; 2: changes pending, held ones included; 1: error."`
	Apply       applyCmd       `cmd:"" help:"Run one reconcile cycle (--once) and exit."`
	Approve     approveCmd     `cmd:"" help:"Release the actions a guardrail held in a run."`
	Runs        runsCmd        `cmd:"" help:"List recent runs, newest first."`
	Explain     explainCmd     `cmd:"" help:"Show every action and report about one person, newest first."`
	CheckConfig checkConfigCmd `cmd:"" name:"check-config" help:"Validate the configuration, then try it against the org: auth, limits, profile and role names."`
	Migrate     migrateCmd     `cmd:"" help:"Apply pending database migrations."`
	Version     versionCmd     `cmd:"" help:"Print the version."`
}

// exitCode carries a command's exit code out of kong's Run; err, when set, is
// printed first.
type exitCode struct {
	code int
	err  error
}

func (e *exitCode) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit %d", e.code)
}

func (e *exitCode) Unwrap() error { return e.err }

// withCode returns an error that exits with code, printing err when it is set.
func withCode(code int, err error) error { return &exitCode{code: code, err: err} }

// kongExit is how kong's help and version flags end a parse without exiting the
// process: run recovers it.
type kongExit int

// run parses args and runs the command, returning the process exit code.
func run(ctx context.Context, args []string, e env) (code int) {
	e.ctx = ctx
	var c cli
	parser, err := kong.New(&c,
		kong.Name("syncd"),
		kong.Description("syncd keeps a Salesforce org's users in step with your identity provider."),
		kong.Writers(e.stdout, e.stderr),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Bind(&e),
	)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd: %v\n", err)
		return exitError
	}
	defer func() {
		if r := recover(); r != nil {
			k, ok := r.(kongExit)
			if !ok {
				panic(r)
			}
			code = int(k)
		}
	}()
	if len(args) == 0 {
		args = []string{"--help"}
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd: %v\n", err)
		fmt.Fprintln(e.stderr, "Run `syncd --help` for the commands and their flags.")
		return exitUsage
	}
	err = kctx.Run(&c)
	var ec *exitCode
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		if ec.err != nil {
			fmt.Fprintf(e.stderr, "syncd: %v\n", ec.err)
		}
		return ec.code
	default:
		fmt.Fprintf(e.stderr, "syncd: %v\n", err)
		return exitError
	}
}

type versionCmd struct{}

func (versionCmd) Run(e *env) error {
	fmt.Fprintf(e.stdout, "syncd %s\n", version)
	return nil
}
