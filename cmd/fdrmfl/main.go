// Command fdrmfl runs federated multi-modal feature extraction for
// regression: simulations, model application and benchmarks. Run
// "fdrmfl help" for the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/fdrmfl/fdrmfl/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fdrmfl:", err)
		os.Exit(cli.ExitCode(err))
	}
}
