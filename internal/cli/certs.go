package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fdrmfl/fdrmfl/fed/fedgrpc"
	"github.com/fdrmfl/fdrmfl/internal/pki"
)

func runCerts(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "certs", "[--out dir] [--server-host host,...] [--clients n]", `
Makes a development certificate authority and, signed by it, a certificate
for the server and one for each client, plus a bearer token per client: all
a secure federation needs on one machine or a test network. Keys are ECDSA
P-256. Production sites should use their own CA.

Writes, in the output folder:
  ca.crt, ca.key                  the authority (keep ca.key private)
  server.crt, server.key          for "fdrmfl server" (server.tls)
  client-N.crt, client-N.key      for mutual TLS (client.cert, client.key)
  client-N.token                  the client's bearer token (client.token_file)
  members.yaml                    the clients for the server (server.members):
                                  names, token SHA-256 hashes, certificate names`)
	out := fs.String("out", "certs", "output `folder`")
	hosts := fs.String("server-host", "127.0.0.1,localhost", "the server's `names`: IP addresses or DNS names clients dial, comma-separated")
	n := fs.Int("clients", 3, "number of clients")
	prefix := fs.String("prefix", "client-", "clients are named prefix1, prefix2, …")
	force := fs.Bool("force", false, "overwrite existing files")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return usagef("--clients %d: at least 1", *n)
	}
	var hostList []string
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hostList = append(hostList, h)
		}
	}
	if len(hostList) == 0 {
		return usagef("--server-host: no host given")
	}
	files := map[string][]byte{}
	ca, err := pki.NewCA("fdrmfl development CA")
	if err != nil {
		return err
	}
	files["ca.crt"], files["ca.key"] = ca.Cert, ca.Key
	srv, err := ca.Server(hostList...)
	if err != nil {
		return err
	}
	files["server.crt"], files["server.key"] = srv.Cert, srv.Key
	var members strings.Builder
	members.WriteString("# The federation's clients, for the server's configuration (server.members).\n")
	members.WriteString("# Each client keeps its token; the server keeps only its SHA-256.\n")
	members.WriteString("# Set revoked: true to shut a client out.\n")
	for i := 1; i <= *n; i++ {
		name := fmt.Sprintf("%s%d", *prefix, i)
		c, err := ca.Client(name)
		if err != nil {
			return err
		}
		tok := pki.Token()
		files[name+".crt"], files[name+".key"], files[name+".token"] = c.Cert, c.Key, []byte(tok+"\n")
		fmt.Fprintf(&members, "- {name: %s, token_sha256: %s, cert_cn: %s}\n", name, fedgrpc.HashToken(tok), name)
	}
	files["members.yaml"] = []byte(members.String())
	if !*force {
		for name := range files {
			if _, err := os.Stat(filepath.Join(*out, name)); !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s exists; use --force to replace the whole set", filepath.Join(*out, name))
			}
		}
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	for name, b := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".key") || strings.HasSuffix(name, ".token") {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(*out, name), b, mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "wrote a development CA, a server certificate for %s and %d clients (certificates and tokens) to %s\n", strings.Join(hostList, ", "), *n, *out)
	return nil
}
