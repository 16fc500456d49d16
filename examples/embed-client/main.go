// Command embed-client shows how an application that already holds its
// samples takes part in an FDRMFL federation as one client, with the
// deploy package: no configuration file, no CSV export. Here the
// "application" reads the corn spectra itself, keeps its share of the
// rows, and hands them over in memory.
//
// Against the README's three-client corn federation (fdrmfl certs, then
// fdrmfl server --config examples/federation/server.yaml), run in place
// of client 1:
//
//	go run ./examples/embed-client --name client-1 --rows 1-27 \
//	    --ca certs/ca.crt --token certs/client-1.token
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/deploy"
)

func main() {
	name := flag.String("name", "client-1", "this client's name, as the server lists it")
	server := flag.String("server", "127.0.0.1:7443", "the server's address")
	ca := flag.String("ca", "certs/ca.crt", "the CA that signed the server's certificate")
	token := flag.String("token", "certs/client-1.token", "this client's token file")
	root := flag.String("data", "../shared/data", "the folder of the corn CSV files")
	rows := flag.String("rows", "1-27", "this client's rows of the corn files (first-last)")
	state := flag.String("state", "out/embedded/state", "where to keep the training state")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *name, *server, *ca, *token, *root, *rows, *state); err != nil {
		fmt.Fprintln(os.Stderr, "embed-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, name, server, ca, token, root, rows, state string) error {
	// The application's own data: here read from the corn files, but any
	// *data.Dataset will do (data.New builds one from slices).
	all, err := data.Read(os.DirFS(root), data.Spec{
		Modalities: []data.ModalitySpec{
			{Name: "m5", File: "corn/m5.csv", Kind: data.Signal},
			{Name: "mp5", File: "corn/mp5.csv", Kind: data.Signal},
			{Name: "mp6", File: "corn/mp6.csv", Kind: data.Signal},
		},
		ResponseFile: "corn/responses.csv", Responses: []string{"protein"},
	})
	if err != nil {
		return err
	}
	first, last, err := span(rows, all.Len())
	if err != nil {
		return err
	}
	var mine []int
	for i := first; i <= last; i++ {
		mine = append(mine, i-1)
	}
	c, err := deploy.NewClient(deploy.ClientConfig{
		Study:    fdrmfl.Config{Data: fdrmfl.Data{Source: "csv"}},
		Settings: deploy.ClientSettings{Name: name, Server: server, CA: ca, TokenFile: token},
		Data:     all.Subset(mine),
		StateDir: state,
		Log:      slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		return err
	}
	res, err := c.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%s: test R² %.3f on %d samples with the federation's model\n", name, res.Test.R2[0], res.Test.N)
	return nil
}

// span parses "first-last" (1-based, inclusive) against n rows.
func span(s string, n int) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	first, err1 := strconv.Atoi(a)
	last, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || first < 1 || last < first || last > n {
		return 0, 0, fmt.Errorf("--rows %q is not first-last within 1-%d", s, n)
	}
	return first, last, nil
}
