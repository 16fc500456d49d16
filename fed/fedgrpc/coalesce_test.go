package fedgrpc

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// writeCounter counts the writes that reach a socket.
type writeCounter struct {
	net.Conn
	writes atomic.Int64
}

func (c *writeCounter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestCoalescingSendsRecordsTogether writes 256 KiB, sixteen TLS records,
// through the credentials of ServerTLS and ClientTLS over loopback: the
// peer reads back every byte, in order, and the records left in one or two
// socket writes instead of sixteen; records written outside a batch (the
// handshake, a close) go out as they come.
func TestCoalescingSendsRecordsTogether(t *testing.T) {
	ca, cert := testPKI(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	msg := make([]byte, 256<<10)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	go func() {
		raw, err := lis.Accept()
		if err != nil {
			got <- nil
			return
		}
		conn, _, err := ServerTLS(cert, nil, false).ServerHandshake(raw)
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(io.LimitReader(conn, int64(len(msg))))
		got <- b
		conn.Close()
	}()
	raw, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	counted := &writeCounter{Conn: raw}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, _, err := ClientTLS(ca.Pool(), nil).ClientHandshake(ctx, "127.0.0.1", counted)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before := counted.writes.Load()
	if n, err := conn.Write(msg); err != nil || n != len(msg) {
		t.Fatalf("wrote %d bytes: %v", n, err)
	}
	if w := counted.writes.Load() - before; w > 2 {
		t.Errorf("256 KiB left in %d socket writes, want at most 2", w)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, msg) {
			t.Fatalf("the peer read %d bytes, not the %d written", len(b), len(msg))
		}
	case <-ctx.Done():
		t.Fatal("the peer read nothing")
	}
}
