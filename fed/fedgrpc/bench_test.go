package fedgrpc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
)

// BenchmarkRound times one federated round over TLS on loopback with a
// 1 M-parameter model and clients that answer at once, so that the time
// is the round's overhead beyond local training: handing out the tasks,
// streaming the model to every client and back, checking every update,
// and FedAvg. The clients run in a child process (this test binary
// again), so that the server's own CPU time per round can be told apart
// from theirs (both are reported); on one machine they still share its
// cores. It reports the bytes on the wire per round (TLS records
// included) against the least a round can move, 2 × 4 bytes × parameters
// × clients.
//
// Each size runs twice, in the clear ("plain") and under secure
// aggregation ("secagg": the default 32-bit ring and 2⌈log₂ n⌉
// neighbours), so that the two can be compared within one run.
//
//	go test ./fed/fedgrpc -run '^$' -bench Round -benchtime 5x
func BenchmarkRound(b *testing.B) {
	const params = 1_000_000
	layout := Layout{{Name: "w", Shape: []int{1000, 1000}}}
	for _, n := range []int{10, 100} {
		for _, secure := range []bool{false, true} {
			mode := "plain"
			if secure {
				mode = "secagg"
			}
			b.Run(fmt.Sprintf("clients=%d/%s", n, mode), func(b *testing.B) { benchRound(b, layout, params, n, secure) })
		}
	}
}

func benchRound(b *testing.B, layout Layout, params, n int, secure bool) {
	{
		{
			h := newHarness(b, Options{Layout: layout, MinClients: n, Heartbeat: 5 * time.Second}, n)
			dir := b.TempDir()
			var toks []string
			for i := 1; i <= n; i++ {
				toks = append(toks, h.tokens[fmt.Sprintf("client-%d", i)])
			}
			os.WriteFile(filepath.Join(dir, "ca.crt"), h.ca.Cert, 0o600)
			os.WriteFile(filepath.Join(dir, "tokens"), []byte(strings.Join(toks, "\n")), 0o600)
			exe, err := os.Executable()
			if err != nil {
				b.Fatal(err)
			}
			child := exec.Command(exe, "-test.run=^TestBenchClients$")
			child.Env = append(os.Environ(), "FDRMFL_BENCH_ADDR="+h.addr, "FDRMFL_BENCH_DIR="+dir)
			child.Stderr = os.Stderr
			if err := child.Start(); err != nil {
				b.Fatal(err)
			}
			defer child.Wait()
			s := &fed.Server{Strategy: &strategy.FedAvg{SampleScale: float64(n)}, Fleet: h.fleet, Quorum: n}
			if secure {
				s.Secure = &fed.SecureAggregation{}
			}
			global := ramp(params)
			if global, err = s.Run(context.Background(), global, 0, 0); err != nil { // warm-up: connections, sessions
				b.Fatal(err)
			}
			in0, out0 := h.metrics.WireBytes()
			cpu0, child0 := cpuTime(), childCPU(child.Process.Pid)
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				if global, err = s.Run(context.Background(), global, i, i); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpu := (cpuTime() - cpu0) / time.Duration(b.N)
			clientCPU := (childCPU(child.Process.Pid) - child0) / time.Duration(b.N)
			in1, out1 := h.metrics.WireBytes()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h.fleet.Finish(ctx, global) // the clients stop
			wire := float64(in1-in0+out1-out0) / float64(b.N)
			least := 2 * 4 * float64(params) * float64(n)
			b.ReportMetric(wire/1e6, "MB-wire/round")
			b.ReportMetric(100*(wire/least-1), "%-over-minimum")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/round")
			b.ReportMetric(cpu.Seconds(), "server-cpu-s/round")
			b.ReportMetric(clientCPU.Seconds(), "clients-cpu-s/round")
			b.ReportMetric(0, "ns/op")
		}
	}
}

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childCPU returns the CPU time process pid has used, from
// /proc/pid/stat (0 where there is no /proc).
func childCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // from field 3 (state) on
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64) // fields 14 and 15, in clock ticks
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// TestBenchClients is BenchmarkRound's child process: clients that answer
// every task at once with the model they were sent. It does nothing
// unless the benchmark starts it.
func TestBenchClients(t *testing.T) {
	addr, dir := os.Getenv("FDRMFL_BENCH_ADDR"), os.Getenv("FDRMFL_BENCH_DIR")
	if addr == "" {
		t.Skip("run by BenchmarkRound")
	}
	ca, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	toks, _ := os.ReadFile(filepath.Join(dir, "tokens"))
	pool := certPoolOf(t, ca)
	echo := fed.ClientFunc(func(_ context.Context, t fed.Task) (fed.Update, error) {
		return fed.Update{Kind: fed.Fit, Weights: t.Global, N: 1}, nil // t.Global is this client's own copy
	})
	client := &fed.SecureClient{Client: echo} // plain tasks pass through
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	done := make(chan error)
	list := strings.Split(string(toks), "\n")
	for i, tok := range list {
		cc, err := grpc.NewClient(addr, append(DialOptions(), grpc.WithTransportCredentials(ClientTLS(pool, nil)), grpc.WithPerRPCCredentials(Token{Value: tok}))...)
		if err != nil {
			t.Fatal(err)
		}
		r := &Runner{Name: "client-" + strconv.Itoa(i+1), Client: client, Conn: cc, RetryFor: time.Minute}
		go func() { done <- r.Run(ctx); cc.Close() }()
	}
	for range list {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
