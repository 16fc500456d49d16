package fedgrpc

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Listener wraps the server's listener: it counts the bytes of every
// connection in the fleet's Metrics, refuses a peer's connections
// beyond Limits.PeerConnections, drops connections that send nothing
// within Limits.Handshake, and tells a client that speaks the wrong
// protocol what is wrong: a plaintext client of a TLS server (secure)
// gets the gRPC status FailedPrecondition saying that the server
// requires TLS, and a TLS client of a plaintext server a reply that its
// TLS library reports as "first record does not look like a TLS
// handshake". Both are logged (rate-limited) and counted.
func (f *Fleet) Listener(lis net.Listener, secure bool) net.Listener {
	g := f.guard
	l := &guardedListener{
		Listener: lis, secure: secure, g: g, m: f.opt.Metrics,
		conns: make(chan net.Conn), done: make(chan struct{}), perIP: map[string]int{},
	}
	if secure {
		l.refuser = grpc.NewServer(grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
			return status.Error(codes.FailedPrecondition, "this federation server requires TLS: the client dials without it (--insecure); give it client.ca instead")
		}), grpc.MaxRecvMsgSize(1), grpc.MaxConcurrentStreams(1))
		l.plain = &chanListener{addr: lis.Addr(), conns: make(chan net.Conn), done: make(chan struct{})}
		go l.refuser.Serve(l.plain)
	}
	go l.acceptLoop()
	return l
}

type guardedListener struct {
	net.Listener
	secure  bool
	g       *guard
	m       *Metrics
	conns   chan net.Conn
	done    chan struct{}
	once    sync.Once
	err     error
	refuser *grpc.Server
	plain   *chanListener

	mu    sync.Mutex
	perIP map[string]int
}

func (l *guardedListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

func (l *guardedListener) Close() error {
	err := l.Listener.Close()
	l.stop(net.ErrClosed)
	return err
}

func (l *guardedListener) stop(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
		if l.refuser != nil {
			l.refuser.Stop()
			l.plain.close()
		}
	})
}

func (l *guardedListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			l.stop(err)
			return
		}
		ip := hostOf(c.RemoteAddr())
		l.mu.Lock()
		if l.perIP[ip] >= l.g.lim.PeerConnections {
			l.mu.Unlock()
			l.m.refused("peer_limit")
			l.g.noisy.warn(l.g.log, "connection over the peer's limit refused", "peer", ip, "limit", l.g.lim.PeerConnections)
			c.Close()
			continue
		}
		l.perIP[ip]++
		l.mu.Unlock()
		go l.sniff(&peerConn{Conn: c, release: func() { l.release(ip) }})
	}
}

func (l *guardedListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

// http2Preface begins every plaintext HTTP/2 (gRPC) connection.
var http2Preface = []byte("PRI * HTTP/2.0")

// sniff reads a connection's first bytes and hands it on, or refuses it.
func (l *guardedListener) sniff(c *peerConn) {
	c.SetReadDeadline(time.Now().Add(l.g.lim.Handshake))
	r := bufio.NewReaderSize(c.Conn, 64)
	head, err := r.Peek(len(http2Preface))
	if err != nil && len(head) == 0 {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	c.r = r
	tlsHello := len(head) > 0 && head[0] == 0x16 // a TLS handshake record
	plaintext := bytes.HasPrefix(head, http2Preface)
	switch {
	case l.secure && plaintext:
		l.m.refused("plaintext")
		l.g.noisy.warn(l.g.log, "a client dialled without TLS; it was told this server requires TLS", "peer", c.RemoteAddr().String())
		select {
		case l.plain.conns <- c:
		case <-l.done:
			c.Close()
		}
		return
	case !l.secure && tlsHello:
		l.m.refused("tls")
		l.g.noisy.warn(l.g.log, "a client dialled with TLS; this server runs without it (--insecure)", "peer", c.RemoteAddr().String())
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.Write([]byte("fdrmfl: this server runs without TLS (--insecure)\n"))
		c.Close()
		return
	}
	var conn net.Conn = c
	if l.m != nil {
		conn = &countingConn{Conn: c, m: l.m}
	}
	select {
	case l.conns <- conn:
	case <-l.done:
		c.Close()
	}
}

func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// peerConn is an accepted connection: it reads first what sniffing
// peeked, and frees its peer's slot when closed.
type peerConn struct {
	net.Conn
	r       *bufio.Reader
	release func()
	once    sync.Once
}

func (c *peerConn) Read(b []byte) (int, error) {
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(b)
		}
		c.r = nil
	}
	return c.Conn.Read(b)
}

func (c *peerConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// chanListener is a listener whose connections are handed to it.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) close() { l.once.Do(func() { close(l.done) }) }

func (l *chanListener) Close() error { l.close(); return nil }

func (l *chanListener) Addr() net.Addr { return l.addr }
