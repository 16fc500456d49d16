package cli

import (
	"strings"
	"testing"
	"time"
)

// TestClientTickerLines drives the in-round progress with a fake clock:
// to a file it writes a line only when the last is 10 s old, and on a
// terminal it redraws one line in place and clears it.
func TestClientTickerLines(t *testing.T) {
	now := time.Unix(0, 0)
	var out strings.Builder
	c := newClientTicker(&out)
	c.p.now = func() time.Time { return now }
	c.p.lastLine = now
	for done := 1; done <= 100; done++ {
		now = now.Add(time.Second) // a client a second
		c.done(1, "fit", done, 100)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines for 100 s, want one per 10 s:\n%s", len(lines), out.String())
	}
	if want := "round 1 fit: 50/100 clients, 49s in this phase, ~49s left"; lines[4] != want {
		t.Fatalf("line 5 %q, want %q", lines[4], want)
	}

	out.Reset()
	c = newClientTicker(&out)
	c.p.tty = true
	c.p.now = func() time.Time { return now }
	c.done(2, "evaluate", 1, 3)
	c.done(2, "evaluate", 2, 3) // within 200 ms of the last draw: skipped
	c.done(2, "evaluate", 3, 3) // the last one is always drawn
	c.clear()
	if got := strings.Count(out.String(), "\r\033[K"); got != 3 {
		t.Fatalf("%d redraws and clears, want 3: %q", got, out.String())
	}
	if !strings.Contains(out.String(), "round 2 evaluate: 3/3 clients") {
		t.Fatalf("the last state was not drawn: %q", out.String())
	}
}
