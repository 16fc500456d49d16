package fedgrpc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Member is a client the server knows: its name and how it proves it.
type Member struct {
	Name string
	// TokenSHA256 is the hex SHA-256 of the client's bearer token ("": the
	// client does not use a token).
	TokenSHA256 string
	// CertCN is the common name of the client's certificate, signed by the
	// server's client CA ("": the client does not use a certificate).
	CertCN string
	// Revoked clients are refused, whatever they present.
	Revoked bool
}

// Auth decides who a caller is from its credentials: a bearer token in
// the "authorization" metadata, or else the verified client certificate
// of a mutual-TLS connection. A caller with neither, or with credentials
// the server does not know, gets codes.Unauthenticated; a revoked member,
// or a certificate whose name is not a member's, codes.PermissionDenied.
type Auth struct {
	members []Member
	hashes  [][32]byte // of members with a token, same index
}

// NewAuth returns an Auth for the members, checking that names, tokens and
// certificate names are well formed and not shared.
func NewAuth(members []Member) (*Auth, error) {
	a := &Auth{}
	seen := map[string]bool{}
	for i, m := range members {
		if m.Name == "" {
			return nil, fmt.Errorf("member %d has no name", i+1)
		}
		if seen["name:"+m.Name] {
			return nil, fmt.Errorf("member %q is listed twice", m.Name)
		}
		seen["name:"+m.Name] = true
		var h [32]byte
		if m.TokenSHA256 != "" {
			b, err := hex.DecodeString(m.TokenSHA256)
			if err != nil || len(b) != 32 {
				return nil, fmt.Errorf("member %q: token_sha256 is not 64 hex digits", m.Name)
			}
			copy(h[:], b)
			if seen["token:"+m.TokenSHA256] {
				return nil, fmt.Errorf("member %q shares its token with another member", m.Name)
			}
			seen["token:"+m.TokenSHA256] = true
		}
		if m.CertCN != "" {
			if seen["cn:"+m.CertCN] {
				return nil, fmt.Errorf("member %q shares its certificate name %q with another member", m.Name, m.CertCN)
			}
			seen["cn:"+m.CertCN] = true
		}
		if m.TokenSHA256 == "" && m.CertCN == "" && !m.Revoked {
			return nil, fmt.Errorf("member %q has neither a token hash nor a certificate name", m.Name)
		}
		a.members = append(a.members, m)
		a.hashes = append(a.hashes, h)
	}
	return a, nil
}

// HashToken returns the hex SHA-256 of a token, as Member.TokenSHA256 wants it.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// identify returns the name of the caller of ctx.
func (a *Auth) identify(ctx context.Context) (string, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("authorization"); len(v) > 0 {
			tok, ok := strings.CutPrefix(v[0], "Bearer ")
			if !ok {
				return "", status.Error(codes.Unauthenticated, `the authorization metadata is not "Bearer <token>"`)
			}
			h := sha256.Sum256([]byte(tok))
			found := -1
			for i, m := range a.members { // compare every hash, in constant time
				if m.TokenSHA256 != "" && subtle.ConstantTimeCompare(h[:], a.hashes[i][:]) == 1 {
					found = i
				}
			}
			if found < 0 {
				return "", status.Error(codes.Unauthenticated, "unknown token")
			}
			if a.members[found].Revoked {
				return "", status.Errorf(codes.PermissionDenied, "client %s is revoked", a.members[found].Name)
			}
			return a.members[found].Name, nil
		}
	}
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 && len(ti.State.VerifiedChains[0]) > 0 {
			cn := ti.State.VerifiedChains[0][0].Subject.CommonName
			for _, m := range a.members {
				if m.CertCN != "" && m.CertCN == cn {
					if m.Revoked {
						return "", status.Errorf(codes.PermissionDenied, "client %s is revoked", m.Name)
					}
					return m.Name, nil
				}
			}
			return "", status.Errorf(codes.PermissionDenied, "certificate %q is not a member of this federation", cn)
		}
	}
	return "", status.Error(codes.Unauthenticated, "no credentials: send a bearer token or connect with a client certificate")
}

type callerKey struct{}

// caller returns the authenticated name the interceptors put in ctx.
func caller(ctx context.Context) string {
	s, _ := ctx.Value(callerKey{}).(string)
	return s
}

// guarded reports whether a method needs a member's credentials: every
// method of the federation service; the health service is open.
func guarded(method string) bool {
	return strings.HasPrefix(method, "/fdrmfl.fed.v1.Federation/")
}

func (a *Auth) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if !guarded(info.FullMethod) || caller(ctx) != "" { // open, or admitted by the guard
		return h(ctx, req)
	}
	name, err := a.identify(ctx)
	if err != nil {
		return nil, err
	}
	return h(context.WithValue(ctx, callerKey{}, name), req)
}

func (a *Auth) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if !guarded(info.FullMethod) || caller(ss.Context()) != "" {
		return h(srv, ss)
	}
	name, err := a.identify(ss.Context())
	if err != nil {
		return err
	}
	return h(srv, &namedStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), callerKey{}, name)})
}

type namedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *namedStream) Context() context.Context { return s.ctx }

// Token is per-call credentials that send a bearer token.
type Token struct {
	Value string
	// Insecure allows sending the token without TLS (local tests only).
	Insecure bool
}

// GetRequestMetadata returns the authorization header.
func (t Token) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + t.Value}, nil
}

// RequireTransportSecurity refuses to send the token in clear unless
// Insecure is set.
func (t Token) RequireTransportSecurity() bool { return !t.Insecure }
