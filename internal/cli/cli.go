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

// Run runs the command line args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			if errors.Is(err, errHelp) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			return nil
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
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
Run "fdrmfl <command> -h" for a command's flags.

Start here:
  fdrmfl simulate                    the built-in default: simulation function 1, 3 clients
  fdrmfl simulate --config corn.yaml a federation described in a file (see fdrmfl config)
  fdrmfl certs, server, client       a real federation over TLS (README: Running a real federation)
`)
}

// newFlags returns a flag set that prints a usage header and returns
// errHelp for -h.
func newFlags(e *env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: fdrmfl %s %s\n\n%s\n\nFlags:\n", name, synopsis, strings.TrimSpace(about))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, mapping -h to errHelp and rejecting stray arguments.
// parseWithNames parses flags that may come before, between or after the
// positional arguments, which it returns.
func parseWithNames(fs *flag.FlagSet, args []string) ([]string, error) {
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, err
		}
		if fs.NArg() == 0 {
			return names, nil
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
