package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdrmfl/fdrmfl/internal/cli"
)

// mainEnv makes this test binary run as the fdrmfl command (see TestMain).
const mainEnv = "FDRMFL_TEST_RUN_MAIN"

// TestMain runs main, with the command line this test binary was given,
// when mainEnv is set: a test can then start the real command as a
// process of its own and see its exit status.
func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestClientThatLosesItsStateFolderExitsNonZero runs "fdrmfl server" and
// two "fdrmfl client"s, client-1 as a process of its own. Once client-1
// has saved its training state, its state folder is replaced by a file
// (permissions would not stop a test run as root): the client must stop
// with a non-zero exit status and a message naming the folder, not train
// on without its state and exit 0.
func TestClientThatLosesItsStateFolderExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := func(ctx context.Context, stdout *syncBuffer, args ...string) error {
		var stderr bytes.Buffer
		err := cli.Run(ctx, args, stdout, &stderr)
		if err != nil {
			return fmt.Errorf("fdrmfl %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return nil
	}
	certs := filepath.Join(dir, "certs")
	if err := run(ctx, &syncBuffer{}, "certs", "--out", certs, "--clients", "2"); err != nil {
		t.Fatal(err)
	}
	// A small study, and enough rounds that client-1 is still training
	// when its folder goes, however slow the machine.
	const study = `seed: 5
data: {function: 1, samples: 240, val_fraction: 0.15}
federation: {clients: 2, rounds: 200}
model:
  latent: 8
  features: 2
  modalities:
    - {name: image, encoder: {type: mlp, hidden: []}}
    - {name: text, encoder: {type: mlp, hidden: []}}
    - {name: vector, encoder: {type: mlp, hidden: []}}
train: {epochs: 1, batch_size: 32}
`
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	server := write("server.yaml", study+`server:
  listen: 127.0.0.1:0
  tls: {cert: certs/server.crt, key: certs/server.key}
  members: certs/members.yaml
  heartbeat: 1s
  join_timeout: 2m
`)
	srvCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	srvOut := &syncBuffer{}
	srvDone := make(chan error, 1)
	go func() {
		srvDone <- run(srvCtx, srvOut, "server", "--config", server, "--out", filepath.Join(dir, "server"))
	}()
	addr := ""
	listening := regexp.MustCompile(`listening on (\S+) `)
	for addr == "" {
		if m := listening.FindStringSubmatch(srvOut.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case err := <-srvDone:
			t.Fatalf("the server stopped before listening: %v", err)
		case <-ctx.Done():
			t.Fatal("the server never listened")
		case <-time.After(10 * time.Millisecond):
		}
	}
	client := func(k int) string {
		return write(fmt.Sprintf("client-%d.yaml", k), study+fmt.Sprintf(`client:
  name: client-%d
  server: %s
  ca: certs/ca.crt
  token_file: certs/client-%d.token
  part: %d
`, k, addr, k, k))
	}
	c2Done := make(chan error, 1)
	go func() {
		c2Done <- run(srvCtx, &syncBuffer{}, "client", "--config", client(2), "--out", filepath.Join(dir, "client-2"))
	}()

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out1 := filepath.Join(dir, "client-1")
	state := filepath.Join(out1, "state")
	cmd := exec.CommandContext(ctx, exe, "client", "--config", client(1), "--out", out1)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Wait for a saved state, then put a file where the folder was.
	for saved := false; !saved; {
		filepath.WalkDir(state, func(_ string, d fs.DirEntry, err error) error {
			saved = saved || err == nil && d.Type().IsRegular()
			return nil
		})
		if saved {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("client-1 exited (%v) before saving a state\n%s", err, stderr.String())
		case <-ctx.Done():
			t.Fatalf("client-1 never saved a state\n%s", stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := os.Rename(state, state+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("not a folder\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var exitErr *exec.ExitError
	switch err := <-exited; {
	case errors.As(err, &exitErr):
		if exitErr.ExitCode() == 0 {
			t.Errorf("client-1 exited 0 without its state folder")
		}
	case err == nil:
		t.Errorf("client-1 exited 0 without its state folder\n%s", stderr.String())
	default:
		t.Fatalf("client-1: %v\n%s", err, stderr.String())
	}
	last := stderr.String()
	if i := strings.LastIndex(strings.TrimRight(last, "\n"), "\n"); i >= 0 {
		last = last[i+1:]
	}
	if !strings.HasPrefix(last, "fdrmfl: ") || !strings.Contains(last, "state folder "+state+",") {
		t.Errorf("client-1's last line %q does not name its state folder %s", last, state)
	}
	t.Logf("client-1: %s", last)
	stopServer()
	if err := <-srvDone; err != nil {
		t.Errorf("server: %v", err)
	}
	<-c2Done // stopped with the server, or left without a quorum
}
