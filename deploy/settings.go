package deploy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc/credentials"

	"github.com/fdrmfl/fdrmfl/fed/fedgrpc"
)

// ServerSettings are the server section of a server's configuration
// file: where it listens, its TLS material, its clients and its limits.
// Paths are relative to the folder given to NewServer (the configuration
// file's).
type ServerSettings struct {
	// Listen is the address to serve on (default 127.0.0.1:7443).
	Listen string    `yaml:"listen"`
	TLS    ServerTLS `yaml:"tls"`
	// Members names a members file (as written by fdrmfl certs); Clients
	// lists members inline. Together, in order, they are the federation's
	// clients: a client's place seeds its data split and training.
	Members string       `yaml:"members"`
	Clients []MemberSpec `yaml:"clients"`
	// Quorum is the fewest fit results that make a round (default: a
	// majority of the clients listed); a round below it is tried again up
	// to Retries times.
	Quorum  int `yaml:"quorum"`
	Retries int `yaml:"retries"`
	// RoundTimeout bounds each phase of a round (default 10m); JoinTimeout
	// how long to wait for clients to connect (default 10m).
	RoundTimeout Duration `yaml:"round_timeout"`
	JoinTimeout  Duration `yaml:"join_timeout"`
	// Heartbeat is the interval asked of clients (default 5s).
	Heartbeat Duration `yaml:"heartbeat"`
	// MaxUpdateNorm rejects updates farther than this from the global
	// model (0: no bound).
	MaxUpdateNorm float64 `yaml:"max_update_norm"`
	// Metrics is the address of the HTTP endpoint for /metrics and
	// /healthz ("": none).
	Metrics string `yaml:"metrics"`
	// PeerConnections is the most connections at once from one IP address
	// (default 32): raise it when many clients share an address.
	PeerConnections int `yaml:"peer_connections"`
}

// ServerTLS is the server's TLS material: its certificate and key;
// ClientCA, if set, verifies client certificates, and RequireClientCert
// makes them compulsory (mutual TLS).
type ServerTLS struct {
	Cert              string `yaml:"cert"`
	Key               string `yaml:"key"`
	ClientCA          string `yaml:"client_ca"`
	RequireClientCert bool   `yaml:"require_client_cert"`
}

// MemberSpec is one client the server admits: its name, the SHA-256 of
// its bearer token and/or the common name of its certificate, and
// whether it is revoked.
type MemberSpec struct {
	Name        string `yaml:"name"`
	TokenSHA256 string `yaml:"token_sha256"`
	CertCN      string `yaml:"cert_cn"`
	Revoked     bool   `yaml:"revoked"`
}

// ClientSettings are the client section of a client's configuration
// file. Paths are relative to the folder given to NewClient.
type ClientSettings struct {
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

// Duration is a time.Duration written as "30s" or "10m" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a duration like 30s or 10m.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 30s or 10m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as "30s".
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Or returns d, or def when d is zero.
func (d Duration) Or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// resolve returns a path of a configuration file taken from its folder dir.
func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// members returns the federation's clients: the members file, then the
// inline list.
func (s ServerSettings) members(dir string) ([]fedgrpc.Member, error) {
	var specs []MemberSpec
	if s.Members != "" {
		path := resolve(dir, s.Members)
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

// creds loads the server's TLS material.
func (s ServerSettings) creds(dir string) (credentials.TransportCredentials, error) {
	t := s.TLS
	if t.Cert == "" || t.Key == "" {
		return nil, errors.New("server.tls: cert and key are required (fdrmfl certs makes development ones), or run with --insecure for a local test")
	}
	cert, err := tls.LoadX509KeyPair(resolve(dir, t.Cert), resolve(dir, t.Key))
	if err != nil {
		return nil, fmt.Errorf("server.tls: %w", err)
	}
	var pool *x509.CertPool
	if t.ClientCA != "" {
		if pool, err = certPool(resolve(dir, t.ClientCA)); err != nil {
			return nil, fmt.Errorf("server.tls.client_ca: %w", err)
		}
	} else if t.RequireClientCert {
		return nil, errors.New("server.tls: require_client_cert needs a client_ca")
	}
	return fedgrpc.ServerTLS(cert, pool, t.RequireClientCert), nil
}

// creds loads the client's TLS material and token.
func (c ClientSettings) creds(dir string) (credentials.TransportCredentials, string, error) {
	if c.CA == "" {
		return nil, "", errors.New("client.ca: the CA that signed the server's certificate is required (or --insecure for a local test)")
	}
	pool, err := certPool(resolve(dir, c.CA))
	if err != nil {
		return nil, "", fmt.Errorf("client.ca: %w", err)
	}
	var cert *tls.Certificate
	if c.Cert != "" || c.Key != "" {
		kp, err := tls.LoadX509KeyPair(resolve(dir, c.Cert), resolve(dir, c.Key))
		if err != nil {
			return nil, "", fmt.Errorf("client.cert: %w", err)
		}
		cert = &kp
	}
	tok, err := c.token(dir)
	if err != nil {
		return nil, "", err
	}
	if tok == "" && cert == nil {
		return nil, "", errors.New("client: no credentials: give token_file, or cert and key")
	}
	return fedgrpc.ClientTLS(pool, cert), tok, nil
}

func (c ClientSettings) token(dir string) (string, error) {
	if c.TokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(resolve(dir, c.TokenFile))
	if err != nil {
		return "", fmt.Errorf("client.token_file: %w", err)
	}
	tok := strings.TrimRight(string(b), "\r\n ")
	if tok == "" {
		return "", fmt.Errorf("client.token_file: %s is empty", c.TokenFile)
	}
	return tok, nil
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
