package fedgrpc

import (
	"context"
	"net"
	"sync"

	"google.golang.org/grpc/credentials"
)

// coalescing wraps transport credentials so that the TLS records of one
// write leave in one system call. Go's TLS writes every record (at most
// 16 KiB of plaintext) to the socket on its own; gRPC hands it up to its
// write buffer (256 KiB) at a time, and on loopback or a fast link the
// per-call cost of sixteen small writes is larger than copying the
// records into one.
type coalescing struct {
	credentials.TransportCredentials
}

// ServerHandshake runs the TLS handshake over a coalescing socket.
func (c coalescing) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	under := &recordBatcher{Conn: raw}
	conn, info, err := c.TransportCredentials.ServerHandshake(under)
	if err != nil {
		return nil, nil, err
	}
	return &batchedConn{Conn: conn, under: under}, info, nil
}

// ClientHandshake runs the TLS handshake over a coalescing socket.
func (c coalescing) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	under := &recordBatcher{Conn: raw}
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, under)
	if err != nil {
		return nil, nil, err
	}
	return &batchedConn{Conn: conn, under: under}, info, nil
}

// Clone returns a copy of the credentials.
func (c coalescing) Clone() credentials.TransportCredentials {
	return coalescing{c.TransportCredentials.Clone()}
}

// batchedConn is the TLS connection: each Write is one batch of records.
type batchedConn struct {
	net.Conn
	under *recordBatcher
}

func (c *batchedConn) Write(p []byte) (int, error) {
	c.under.begin()
	n, err := c.Conn.Write(p)
	if ferr := c.under.end(); err == nil {
		err = ferr
	}
	return n, err
}

// batchLimit bounds the bytes a batch holds before it is written out.
const batchLimit = 512 << 10

var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, batchLimit+32<<10); return &b }}

// recordBatcher is the socket under TLS. While a batch is open, the
// records TLS writes are gathered, in the order TLS writes them, and
// written out together when the batch ends (or the buffer fills); outside
// a batch (handshake, alerts) writes go straight through.
type recordBatcher struct {
	net.Conn
	mu   sync.Mutex
	open int
	buf  *[]byte
}

func (b *recordBatcher) begin() {
	b.mu.Lock()
	b.open++
	b.mu.Unlock()
}

func (b *recordBatcher) end() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.open--
	if b.open > 0 {
		return nil
	}
	return b.flushLocked()
}

func (b *recordBatcher) flushLocked() error {
	if b.buf == nil {
		return nil
	}
	buf := b.buf
	b.buf = nil
	_, err := b.Conn.Write(*buf)
	*buf = (*buf)[:0]
	batchBuffers.Put(buf)
	return err
}

func (b *recordBatcher) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == 0 {
		return b.Conn.Write(p)
	}
	if b.buf == nil {
		b.buf = batchBuffers.Get().(*[]byte)
	}
	*b.buf = append(*b.buf, p...)
	if len(*b.buf) >= batchLimit {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
