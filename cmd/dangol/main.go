// Command dangol is the ledger's one binary: the server, the operator and
// auditor tools, and the load tools. Run `dangol -h` for the subcommands and
// `dangol <command> -h` for each one's flags; every flag has a DANGOL_*
// environment default.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dangol:", err)
		}
		os.Exit(exitCode(err))
	}
}

// env is how commands read the environment (os.Getenv in main, a map in tests).
type env func(string) string

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":              {"serve the HTTP API, WebSocket live feed and metrics", runServe},
		"seed":               {"generate a deterministic synthetic bank into the store", runSeed},
		"log":                {"print the log or one stream (human-readable or --json)", runLog},
		"verify":             {"check every hash chain; exit 1 naming the first bad event", runVerify},
		"export":             {"write a range of the log as JSON Lines of CloudEvents, with its manifest", runExport},
		"audit":              {"the seals: `dangol audit seal` seals now, `dangol audit verify` checks an export offline against a seal kept outside", runAuditCommands},
		"staff":              {"manage staff: `dangol staff add` registers a member and prints a token", runStaff},
		"bench":              {"load tools: `dangol bench store|http|replay|latency|writer|console|campaigns`", runBench},
		"migrate":            {"apply the PostgreSQL schema migrations of this build", runMigrate},
		"migrate-recordings": {"seal the call recordings an earlier release stored in clear (serve does it at start)", runMigrateRecordings},
		"migrate-store":      {"move the embedded log from the bbolt file of earlier releases (events.db) into the segment log, every event as it is", runMigrateStore},
		"rebuild":            {"replay the log into fresh PostgreSQL read-model tables and swap them in", runRebuild},
		"import":             {"import a source system's records (CSV or JSON Lines) as events, idempotently; rejected rows to a rejects file", runImport},
		"health":             {"exit 0 if a URL (the server's /healthz) answers 200: the container image's healthcheck", runHealth},
	}
}

// run is main without the process: testable with any args and environment.
func run(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(stderr, cmds)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return c.run(ctx, args[1:], getenv, stdout, stderr)
}

var errUsage = errors.New("no command given")

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "dangol — the event-sourced customer-interaction ledger")
	fmt.Fprintln(w, "\nUsage: dangol <command> [flags]   (dangol <command> -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	listCommands(w, cmds)
	fmt.Fprintln(w, "\nEvery flag --some-name defaults to the environment variable DANGOL_SOME_NAME.")
}

// listCommands prints cmds by name with their summaries.
func listCommands(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, cmds[n].summary)
	}
}

// exitError carries a process exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}
