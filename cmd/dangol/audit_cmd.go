package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// auditCommands are the subcommands of `dangol audit`, the auditor's and
// the operator's tools of the seals.
func auditCommands() map[string]command {
	return map[string]command{
		"seal":   {"seal the log now (offline on the embedded store); print the seal's hash and signed checkpoint", runAuditSeal},
		"verify": {"check an export offline against a seal kept outside; exit 1 naming the first failure", runAuditVerify},
	}
}

// runAuditCommands is `dangol audit <subcommand>`.
func runAuditCommands(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	cmds := auditCommands()
	if len(args) > 0 {
		if c, ok := cmds[args[0]]; ok {
			return c.run(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, "Usage: dangol audit <subcommand> [flags]   (dangol audit <subcommand> -h for its flags)\n\nSubcommands:")
	listCommands(stderr, cmds)
	switch {
	case len(args) == 0:
		return errUsage
	case args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help":
		return flag.ErrHelp
	}
	return fmt.Errorf("audit: unknown subcommand %q", args[0])
}
