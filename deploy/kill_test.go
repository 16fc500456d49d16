package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdrmfl/fdrmfl"
)

// serverProcessEnv names the deployment folder a child server process
// serves (see TestMain).
const serverProcessEnv = "FDRMFL_TEST_SERVER_DIR"

// TestMain runs this test binary as TestServerKilledResumes's server
// process when serverProcessEnv is set, and as the tests otherwise.
func TestMain(m *testing.M) {
	if dir := os.Getenv(serverProcessEnv); dir != "" {
		hold, _ := strconv.Atoi(os.Getenv("FDRMFL_TEST_SERVER_HOLD"))
		if err := serverProcess(dir, hold); err != nil {
			fmt.Fprintln(os.Stderr, "server process:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverProcess serves the deployment in dir on the listening socket it
// inherits (file descriptor 3), prints each round it completes and, after
// round hold, marks the folder and hangs, to be killed. At the end it
// saves the model to dir/server/model.
func serverProcess(dir string, hold int) error {
	var d deployment
	spec, err := os.ReadFile(filepath.Join(dir, "deployment.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(spec, &d); err != nil {
		return err
	}
	lis, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		return err
	}
	s, err := NewServer(ServerConfig{
		Study: d.Study, Settings: d.Server, Dir: d.Dir, StateDir: filepath.Join(d.Dir, "server", "state"),
		OnDone: func(res *fdrmfl.Result) error { return res.Model().Save(filepath.Join(d.Dir, "server", "model")) },
	})
	if err != nil {
		return err
	}
	s.afterRound = func(r int) {
		fmt.Printf("round %d\n", r)
		if r == hold {
			os.WriteFile(filepath.Join(dir, "held"), nil, 0o600)
			time.Sleep(time.Hour) // until killed
		}
	}
	_, err = s.Run(context.Background(), lis)
	return err
}

// roundLine is a line the server process prints for a completed round;
// anything else it prints (coverage reports, for one) is not counted.
var roundLine = regexp.MustCompile(`^round (\d+)$`)

// TestServerKilledResumes runs the server as a process of its own (this
// test binary again, see TestMain) and kills it with SIGKILL once round 2
// of 4 is checkpointed: no clean-up of any kind runs. A new server process
// on the same listening socket resumes at round 3, the clients reconnect,
// and the final model is the uninterrupted simulation's, bit for bit.
func TestServerKilledResumes(t *testing.T) {
	cfg := study(4)
	sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDeployment(t, cfg)
	spec, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Dir, "deployment.json"), spec, 0o600); err != nil {
		t.Fatal(err)
	}
	lis := listen(t, "127.0.0.1:0")
	defer lis.Close()
	socket, err := lis.(*net.TCPListener).File() // handed to each server process
	if err != nil {
		t.Fatal(err)
	}
	defer socket.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	results := d.startClients(t, ctx, lis.Addr().String())
	var logs syncLog
	server := func(hold int) (*exec.Cmd, *strings.Builder) {
		cmd := exec.CommandContext(ctx, exe)
		cmd.Env = append(os.Environ(), serverProcessEnv+"="+d.Dir, "FDRMFL_TEST_SERVER_HOLD="+strconv.Itoa(hold))
		cmd.ExtraFiles = []*os.File{socket}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}

	first, _ := server(2)
	held := filepath.Join(d.Dir, "held")
	for {
		if _, err := os.Stat(held); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the first server never finished round 2\n%s", &logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.Wait()

	second, out := server(0)
	if err := second.Wait(); err != nil {
		t.Fatalf("the restarted server: %v\n%s\n%s", err, out, &logs)
	}
	var ran []string
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		if m := roundLine.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
			ran = append(ran, m[1])
		}
	}
	if fmt.Sprint(ran) != "[3 4]" {
		t.Fatalf("the restarted server ran rounds %v, want [3 4]; it printed\n%s", ran, out)
	}
	m, err := fdrmfl.LoadModel(filepath.Join(d.Dir, "server", "model"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(m.Weights, sim.Weights) {
		t.Fatalf("the resumed federation's model differs from the simulation's\n%s", &logs)
	}
	for range d.Clients {
		if o := <-results; o.err != nil {
			t.Fatalf("%s: %v", o.name, o.err)
		}
	}
}
