package fedgrpc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"

	"github.com/fdrmfl/fdrmfl/fed/fedgrpc/fedpb"
	"github.com/fdrmfl/fdrmfl/internal/pki"
)

// floodServerEnv names the folder of a server process's TLS material
// (see TestMain): the test binary then serves instead of testing.
const floodServerEnv = "FDRMFL_TEST_FLOOD_SERVER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(floodServerEnv); dir != "" {
		if err := floodServer(dir); err != nil {
			fmt.Fprintln(os.Stderr, "flood server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// floodServer serves a fleet over TLS with the material in dir, prints
// its address, and serves until its standard input closes. Its log goes
// to standard error.
func floodServer(dir string) error {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		return b
	}
	cert, err := pki.Pair{Cert: read("server.crt"), Key: read("server.key")}.TLS()
	if err != nil {
		return err
	}
	auth, err := NewAuth([]Member{{Name: "client-1", TokenSHA256: HashToken(string(read("token")))}})
	if err != nil {
		return err
	}
	f := NewFleet(Options{Auth: auth, Layout: testLayout, Log: slog.New(slog.NewTextHandler(os.Stderr, nil)), Metrics: NewMetrics(prometheus.NewRegistry())})
	gs, _ := NewServer(f, ServerTLS(cert, nil, false))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(lis.Addr())
	go gs.Serve(f.Listener(lis, true))
	io.Copy(io.Discard, os.Stdin)
	gs.Stop()
	return nil
}

// rawCodec sends one prepared message, whatever it is given: a flood
// client holds one copy of its big message for every call.
type rawCodec struct{ msg []byte }

func (c rawCodec) Marshal(any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(c.msg)}, nil
}
func (rawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }
func (rawCodec) Name() string                         { return "proto" }

// peakRSS returns a process's peak resident memory in bytes (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestUnauthenticatedFloodStaysSmall runs a server as a process of its
// own (this test binary, see TestMain) and floods it without valid
// credentials: 64 calls at once, each sending a 16 MiB Register message
// for 5 s, then 65,536 small calls. The server's peak resident memory
// stays under 200 MB, every refusal is counted, and its log stays short.
// Before credentials were checked in the transport, the server read and
// decoded every big message before the interceptor refused it.
func TestUnauthenticatedFloodStaysSmall(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("flood CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"server.crt": srv.Cert, "server.key": srv.Key, "token": []byte(pki.Token())} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), floodServerEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logBytes atomic.Int64
	var logTail syncBuffer
	cmd.Stderr = writerFunc(func(p []byte) (int, error) { logBytes.Add(int64(len(p))); return logTail.Write(p) })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(line)
	before := peakRSS(t, cmd.Process.Pid)

	conns := make([]*grpc.ClientConn, 16)
	for i := range conns {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(ClientTLS(ca.Pool(), nil)),
			grpc.WithPerRPCCredentials(Token{Value: pki.Token()}), grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		conns[i] = cc
	}
	big := make([]byte, 16<<20)
	var calls atomic.Int64
	flood := func(msg []byte, until time.Time, n int64) {
		var wg sync.WaitGroup
		for g := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				api := fedpb.NewFederationClient(conns[g%len(conns)])
				for time.Now().Before(until) && (n == 0 || calls.Load() < n) {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					api.Register(ctx, &fedpb.RegisterRequest{Client: "client-1", Protocol: Protocol}, grpc.ForceCodecV2(rawCodec{msg}))
					cancel()
					calls.Add(1)
				}
			}()
		}
		wg.Wait()
	}
	flood(big, time.Now().Add(5*time.Second), 0)
	bigCalls := calls.Load()
	calls.Store(0)
	small := int64(65536)
	if raceDetector { // every call is many times slower: a smaller flood
		small = 8192
	}
	flood([]byte{0x0a, 0x01, 'x'}, time.Now().Add(90*time.Second), small)
	peak := peakRSS(t, cmd.Process.Pid)
	t.Logf("server peak RSS %.1f MB before the flood, %.1f MB after %d calls with 16 MiB messages and %d small ones; %d bytes of log",
		float64(before)/1e6, float64(peak)/1e6, bigCalls, calls.Load(), logBytes.Load())
	if peak > 200e6 {
		t.Errorf("the server's peak RSS reached %.1f MB", float64(peak)/1e6)
	}
	if calls.Load() < small || bigCalls < 64 {
		t.Errorf("only %d big and %d small calls were made", bigCalls, calls.Load())
	}
	if logBytes.Load() > 128<<10 {
		t.Errorf("the flood wrote %d bytes of log", logBytes.Load())
	}
	if !strings.Contains(logTail.String(), "credentials refused") || !strings.Contains(logTail.String(), "similar_lines_left_out") {
		t.Errorf("the refusals were not logged, rate-limited:\n%s", logTail.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
