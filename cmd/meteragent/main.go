// Command meteragent collects utility meter readings next to Home Assistant and
// turns them into daily and monthly series, virtual meters and anomalies.
//
// Usage:
//
//	meteragent <command> [flags]
//
// Run "meteragent help" for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	// Zones must work on a bare Pi image without /usr/share/zoneinfo.
	_ "time/tzdata"

	// Huge pages for the heap from the first package initialisers on, for
	// every command (see the package).
	_ "github.com/meteragent/meteragent/cmd/meteragent/internal/hugeheap"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // runtime error: bad input, I/O, processing
	exitUsage   = 2 // bad command line
)

// env is what a command may touch of the outside world. Tests fill it with
// buffers and a fixed clock.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
}

// command is one subcommand. run gets the arguments after the command name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands lists the subcommands in the order "help" shows them.
func commands() []command {
	return []command{
		{"run", "run the agent: MQTT ingest, live recompute, status API", runRun},
		{"status", "show every meter's latest reading and recompute", runStatus},
		{"import", "import a readings CSV into the store (import csv FILE)", runImport},
		{"export", "write stored readings, daily, monthly or anomalies as CSV", runExport},
		{"check-config", "validate the configuration and show what it sets up", runCheckConfig},
		{"db", "database maintenance: compact, check, prune --before DATE", runDB},
		{"process", "turn a readings CSV into daily, monthly and anomaly CSVs", runProcess},
		{"version", "print the version", runVersion},
		{"help", "show this help", nil},
	}
}

// usageError marks a bad command line (exit code 2). shown is set when the
// flag package has already printed it with the usage text.
type usageError struct {
	msg   string
	shown bool
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run is the whole program, callable from tests: it dispatches to a command
// and maps its error to an exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(ctx, &env{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}, args)
}

func runEnv(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		printUsage(e.stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name != name || c.run == nil {
			continue
		}
		err := c.run(ctx, e, rest)
		var ue *usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue) && ue.shown:
			return exitUsage
		case errors.As(err, &ue):
			fmt.Fprintf(e.stderr, "meteragent %s: %v\n", name, err)
			fmt.Fprintf(e.stderr, "run 'meteragent %s -h' for its flags\n", name)
			return exitUsage
		default:
			fmt.Fprintf(e.stderr, "meteragent %s: %v\n", name, err)
			return exitFailure
		}
	}
	fmt.Fprintf(e.stderr, "meteragent: unknown command %q\n\n", name)
	printUsage(e.stderr)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "meteragent turns utility meter readings into daily series, virtual meters and anomalies.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w, "  meteragent <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'meteragent <command> -h' for a command's flags.")
}

// newFlagSet returns a flag set whose errors come back to run() instead of
// exiting, and whose usage text goes to the command's stderr.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: meteragent %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and turns a flag error into a usage error (the flag
// package has already printed the details and the usage text).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error(), shown: true}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "version", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "meteragent", version)
	return nil
}
