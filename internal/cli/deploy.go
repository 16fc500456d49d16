package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc/credentials"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc"
)

// This file holds what "fdrmfl server" and "fdrmfl client" share: their
// configuration files and TLS material.

// serverFile is the server's configuration: the study, as for simulate
// (the server reads no data: data only gives the split fractions and
// scaling), and a server section.
type serverFile struct {
	fdrmfl.Config `yaml:",inline"`
	Server        serverSection `yaml:"server"`
}

type serverSection struct {
	// Listen is the address to serve on (default 127.0.0.1:7443).
	Listen string `yaml:"listen"`
	// TLS: the server's certificate and key; ClientCA, if set, verifies
	// client certificates, and RequireClientCert makes them compulsory.
	TLS struct {
		Cert              string `yaml:"cert"`
		Key               string `yaml:"key"`
		ClientCA          string `yaml:"client_ca"`
		RequireClientCert bool   `yaml:"require_client_cert"`
	} `yaml:"tls"`
	// Members names a members file (as written by fdrmfl certs); Clients
	// lists members inline. Together, in order, they are the federation's
	// clients: a client's place seeds its data split and training.
	Members string       `yaml:"members"`
	Clients []memberSpec `yaml:"clients"`
	// Quorum is the fewest fit results that make a round (default: a
	// majority of the clients listed); a round below it is tried again up
	// to Retries times.
	Quorum  int `yaml:"quorum"`
	Retries int `yaml:"retries"`
	// RoundTimeout bounds each phase of a round (default 10m); JoinTimeout
	// how long to wait for clients to connect (default 10m).
	RoundTimeout duration `yaml:"round_timeout"`
	JoinTimeout  duration `yaml:"join_timeout"`
	// Heartbeat is the interval asked of clients (default 5s).
	Heartbeat duration `yaml:"heartbeat"`
	// MaxUpdateNorm rejects updates farther than this from the global
	// model (0: no bound).
	MaxUpdateNorm float64 `yaml:"max_update_norm"`
	// Metrics is the address of the HTTP endpoint for /metrics and
	// /healthz ("": none).
	Metrics string `yaml:"metrics"`
}

type memberSpec struct {
	Name        string `yaml:"name"`
	TokenSHA256 string `yaml:"token_sha256"`
	CertCN      string `yaml:"cert_cn"`
	Revoked     bool   `yaml:"revoked"`
}

// clientFile is a client's configuration: where its data are (the data
// section, as for simulate) and a client section.
type clientFile struct {
	fdrmfl.Config `yaml:",inline"`
	Client        clientSection `yaml:"client"`
}

type clientSection struct {
	Name string `yaml:"name"`
	// Server is the address to dial (default 127.0.0.1:7443).
	Server string `yaml:"server"`
	// CA verifies the server's certificate; TokenFile holds the bearer
	// token; Cert and Key are a client certificate for mutual TLS.
	CA        string `yaml:"ca"`
	TokenFile string `yaml:"token_file"`
	Cert      string `yaml:"cert"`
	Key       string `yaml:"key"`
	// Part, for demonstrations, makes the client hold part Part (1-based)
	// of the data as "fdrmfl simulate" would partition them among
	// federation.clients clients.
	Part int `yaml:"part"`
}

// duration is a time.Duration written as "30s" or "10m" in YAML.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 30s or 10m", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}

func (d duration) or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// readFile reads a configuration file into v, resolving the data root
// against the file's folder.
func readFile(path string, v any, cfg *fdrmfl.Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := parseConfig(path, b, v); err != nil {
		return err
	}
	cfg.Data.Root = dataRoot(path, cfg.Data)
	return nil
}

// rel resolves a path in a configuration file against the file's folder.
func rel(config, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(config), p)
}

// members returns the federation's clients: the members file, then the
// inline list.
func (s serverSection) members(config string) ([]fedgrpc.Member, error) {
	var specs []memberSpec
	if s.Members != "" {
		path := rel(config, s.Members)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("server.members: %w", err)
		}
		if err := yaml.Unmarshal(b, &specs); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	specs = append(specs, s.Clients...)
	if len(specs) == 0 {
		return nil, errors.New("server: no clients: list them in server.clients or a server.members file (fdrmfl certs writes one)")
	}
	var out []fedgrpc.Member
	for _, m := range specs {
		out = append(out, fedgrpc.Member{Name: m.Name, TokenSHA256: m.TokenSHA256, CertCN: m.CertCN, Revoked: m.Revoked})
	}
	return out, nil
}

// serverCreds loads the server's TLS material.
func (s serverSection) creds(config string) (credentials.TransportCredentials, error) {
	t := s.TLS
	if t.Cert == "" || t.Key == "" {
		return nil, errors.New("server.tls: cert and key are required (fdrmfl certs makes development ones), or run with --insecure for a local test")
	}
	cert, err := tls.LoadX509KeyPair(rel(config, t.Cert), rel(config, t.Key))
	if err != nil {
		return nil, fmt.Errorf("server.tls: %w", err)
	}
	var pool *x509.CertPool
	if t.ClientCA != "" {
		if pool, err = certPool(rel(config, t.ClientCA)); err != nil {
			return nil, fmt.Errorf("server.tls.client_ca: %w", err)
		}
	} else if t.RequireClientCert {
		return nil, errors.New("server.tls: require_client_cert needs a client_ca")
	}
	return fedgrpc.ServerTLS(cert, pool, t.RequireClientCert), nil
}

// creds loads the client's TLS material and token.
func (c clientSection) creds(config string) (credentials.TransportCredentials, string, error) {
	if c.CA == "" {
		return nil, "", errors.New("client.ca: the CA that signed the server's certificate is required (or --insecure for a local test)")
	}
	pool, err := certPool(rel(config, c.CA))
	if err != nil {
		return nil, "", fmt.Errorf("client.ca: %w", err)
	}
	var cert *tls.Certificate
	if c.Cert != "" || c.Key != "" {
		kp, err := tls.LoadX509KeyPair(rel(config, c.Cert), rel(config, c.Key))
		if err != nil {
			return nil, "", fmt.Errorf("client.cert: %w", err)
		}
		cert = &kp
	}
	tok, err := c.token(config)
	if err != nil {
		return nil, "", err
	}
	if tok == "" && cert == nil {
		return nil, "", errors.New("client: no credentials: give token_file, or cert and key")
	}
	return fedgrpc.ClientTLS(pool, cert), tok, nil
}

func (c clientSection) token(config string) (string, error) {
	if c.TokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(rel(config, c.TokenFile))
	if err != nil {
		return "", fmt.Errorf("client.token_file: %w", err)
	}
	tok := string(trimSpace(b))
	if tok == "" {
		return "", fmt.Errorf("client.token_file: %s is empty", c.TokenFile)
	}
	return tok, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

func certPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return p, nil
}

// newLogger returns a structured logger writing text lines to w.
func newLogger(w interface{ Write([]byte) (int, error) }, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
