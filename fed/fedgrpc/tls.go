package fedgrpc

import (
	"crypto/tls"
	"crypto/x509"

	"google.golang.org/grpc/credentials"
)

// ServerTLS returns TLS 1.3 transport credentials for a server presenting
// cert. With clientCAs set, clients may present certificates signed by
// them, which are verified (and name the client, see Auth); requireCert
// refuses clients without one (mutual TLS for everyone).
func ServerTLS(cert tls.Certificate, clientCAs *x509.CertPool, requireCert bool) credentials.TransportCredentials {
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	if clientCAs != nil {
		c.ClientCAs = clientCAs
		c.ClientAuth = tls.VerifyClientCertIfGiven
		if requireCert {
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return coalescing{credentials.NewTLS(c)}
}

// ClientTLS returns TLS 1.3 transport credentials for a client that
// trusts the server certificates signed by roots and, if cert is set,
// presents it.
func ClientTLS(roots *x509.CertPool, cert *tls.Certificate) credentials.TransportCredentials {
	c := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return coalescing{credentials.NewTLS(c)}
}
