// Package cli is the fdrmfl command: one file per subcommand, each parsing
// its flags and calling the library. It is the only place, with the
// binary's main, that touches files, terminals and signals.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a subcommand may use of the process.
type env struct {
	stdout, stderr io.Writer
}

func commands() []command {
	return []command{
		{"simulate", "run a federation with every client in this process", runSimulate},
		{"extract", "write the features Z of new data with a trained model", runExtract},
		{"predict", "write the predictions ŷ of new data with a trained model", runPredict},
		{"explain", "show which inputs (wavelengths) a trained model relies on, beside a PLS's VIP", runExplain},
		{"export", "write a trained model as an ONNX model (ŷ and Z from raw inputs)", runExport},
		{"server", "run the server of a real federation (clients dial in over TLS)", runServer},
		{"client", "run one client of a real federation with its own data", runClient},
		{"certs", "make a development CA, server and client certificates and tokens", runCerts},
		{"reproduce", "run the paper's experiments with repeated splits and write tables and plots", runReproduce},
		{"config", "print the configuration file format with every default", runConfig},
		{"bench", "time the engine on the benchmark tasks (bench engine)", runBench},
	}
}

// errHelp is returned when help was asked for and printed.
var errHelp = errors.New("help requested")

// usageError is a mistake in the command line itself — an unknown
// command or flag, a missing required flag, a stray argument — rather
// than a failure of the work: the process exits 2, as command-line tools
// do.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// ExitCode returns the process's exit status for Run's error: 0 for
// none, 2 for a usage error, 1 for any other failure.
func ExitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// Run runs the command line args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return usagef("no command given")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, version())
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			if errors.Is(err, errHelp) {
				return nil
			}
			if err != nil {
				var u usageError
				if errors.As(err, &u) {
					return usageError{fmt.Errorf("%s: %w (see fdrmfl %s -h)", c.name, u.err, c.name)}
				}
				return fmt.Errorf("%s: %w", c.name, err)
			}
			return nil
		}
	}
	usage(stderr)
	return usagef("unknown command %q", args[0])
}

// version describes the binary: the module version and the commit it was
// built from, as the Go toolchain stamped them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "fdrmfl (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", with uncommitted changes"
			}
		}
	}
	out := fmt.Sprintf("fdrmfl %s, %s", v, bi.GoVersion)
	if rev != "" {
		out += fmt.Sprintf(", commit %s (%s%s)", rev, at, dirty)
	} else {
		out += ", commit unknown (built without version control information, e.g. by go run)"
	}
	return out
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `fdrmfl — federated multi-modal feature extraction for regression

Usage:
  fdrmfl <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Run "fdrmfl <command> -h" for a command's flags, "fdrmfl --version" for the
version.

Start here:
  fdrmfl simulate                    the built-in default: simulation function 1, 3 clients
  fdrmfl simulate --config corn.yaml a federation described in a file (see fdrmfl config)
  fdrmfl certs, server, client       a real federation over TLS (README: Running a real federation)
`)
}

// flags is a subcommand's flag set with its help text.
type flags struct {
	*flag.FlagSet
	help func() // prints the usage to standard output
}

// newFlags returns a flag set for a subcommand: -h prints its usage to
// standard output, a bad flag an error to standard error.
func newFlags(e *env, name, synopsis, about string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {} // parse prints the help, the flag package the error
	f := &flags{FlagSet: fs}
	f.help = func() {
		fs.SetOutput(e.stdout)
		defer fs.SetOutput(e.stderr)
		fmt.Fprintf(e.stdout, "Usage: fdrmfl %s %s\n\n%s\n\nFlags:\n", name, synopsis, strings.TrimSpace(about))
		fs.PrintDefaults()
	}
	return f
}

// parseErr turns a flag package error into errHelp (after printing the
// usage) or a usage error.
func (f *flags) parseErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		f.help()
		return errHelp
	}
	return usageError{err}
}

// parseWithNames parses flags that may come before, between or after the
// positional arguments, which it returns.
func parseWithNames(fs *flags, args []string) ([]string, error) {
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fs.parseErr(err)
		}
		if fs.NArg() == 0 {
			return names, nil
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parse parses flags, mapping -h to errHelp and rejecting stray arguments.
func parse(fs *flags, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fs.parseErr(err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
