package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"testing"
	"time"
)

// TestCertificatesVerify signs a server and a client certificate and
// checks each against the CA for its use, with the names and lifetime
// a federation relies on.
func TestCertificatesVerify(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server("127.0.0.1", "fed.example.org")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ca.Client("client-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		pair  Pair
		opts  x509.VerifyOptions
		check func(*x509.Certificate)
	}{
		{"server by IP", srv, x509.VerifyOptions{DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, nil},
		{"server by name", srv, x509.VerifyOptions{DNSName: "fed.example.org", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, nil},
		{"client", cli, x509.VerifyOptions{KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, func(c *x509.Certificate) {
			if c.Subject.CommonName != "client-1" {
				t.Errorf("client certificate CN %q", c.Subject.CommonName)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := tc.pair.TLS()
			if err != nil {
				t.Fatal(err)
			}
			leaf, err := x509.ParseCertificate(cert.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			tc.opts.Roots = ca.Pool()
			if _, err := leaf.Verify(tc.opts); err != nil {
				t.Fatalf("does not verify against its CA: %v", err)
			}
			if life := leaf.NotAfter.Sub(leaf.NotBefore); life < Validity || life > Validity+2*time.Hour {
				t.Errorf("valid for %v, want about %v", life, Validity)
			}
			if tc.check != nil {
				tc.check(leaf)
			}
		})
	}
	// A certificate from another CA does not verify.
	other, err := NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := srv.TLS()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: other.Pool(), DNSName: "127.0.0.1"}); err == nil {
		t.Fatal("a certificate verified against a foreign CA")
	}
	// The server certificate names no other host.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "evil.example.org"}); err == nil {
		t.Fatal("the server certificate verified for a host it does not name")
	}
}

// TestTLSHandshake uses the pairs for a mutual-TLS connection on loopback.
func TestTLSHandshake(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	srvPair, _ := ca.Server("127.0.0.1")
	cliPair, _ := ca.Client("client-1")
	srvCert, err := srvPair.TLS()
	if err != nil {
		t.Fatal(err)
	}
	cliCert, err := cliPair.TLS()
	if err != nil {
		t.Fatal(err)
	}
	lis, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: ca.Pool(), ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	peer := make(chan string, 1)
	go func() {
		c, err := lis.Accept()
		if err != nil {
			peer <- err.Error()
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			peer <- err.Error()
			return
		}
		peer <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
	}()
	c, err := tls.Dial("tcp", lis.Addr().String(), &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cliCert}, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := <-peer; got != "client-1" {
		t.Fatalf("the server saw %q, want client-1", got)
	}
}

// TestTokensAreRandom checks the tokens' form and that two differ.
func TestTokensAreRandom(t *testing.T) {
	a, b := Token(), Token()
	for _, tok := range []string{a, b} {
		if raw, err := hex.DecodeString(tok); err != nil || len(raw) != 32 {
			t.Fatalf("token %q is not 32 bytes in hex", tok)
		}
	}
	if a == b {
		t.Fatal("two tokens are equal")
	}
}
