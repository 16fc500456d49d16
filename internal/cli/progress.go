package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/fdrmfl/fdrmfl/experiment"
)

// progress shows how far a long run is: on a terminal one bar, redrawn
// in place, with the unit and method in progress and the time left; to a
// file or pipe plain lines — one per finished unit, and one per finished
// method when the last line is older than lineEvery, so that a log shows
// life during long units.
type progress struct {
	w         io.Writer
	tty       bool
	width     int
	now       func() time.Time
	lastDraw  time.Time
	lastLine  time.Time
	lineEvery time.Duration
	drawn     bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, now: time.Now, lineEvery: 10 * time.Second, width: 100}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			p.width = cols
		}
	}
	p.lastLine = p.now()
	return p
}

// left estimates the time to the end from the share done so far.
func left(ev experiment.Progress) string {
	if ev.Fraction <= 0 {
		return "?"
	}
	rest := time.Duration(float64(ev.Elapsed) / ev.Fraction * (1 - ev.Fraction))
	return "~" + rest.Round(time.Second).String()
}

func (p *progress) update(ev experiment.Progress) {
	now := p.now()
	if p.tty {
		if !ev.UnitDone && ev.Method == "" && now.Sub(p.lastDraw) < 200*time.Millisecond {
			return
		}
		p.lastDraw = now
		const barWidth = 24
		full := int(ev.Fraction * barWidth)
		bar := strings.Repeat("█", full) + strings.Repeat("░", barWidth-full)
		doing := ev.Unit.String()
		if ev.Method != "" {
			doing += ": " + ev.Method + " done"
		}
		line := fmt.Sprintf("%s %3.0f%% %d/%d units, %s elapsed, %s left  %s", bar, 100*ev.Fraction, ev.UnitsDone, ev.Units,
			ev.Elapsed.Round(time.Second), left(ev), doing)
		if r := []rune(line); len(r) > p.width-1 {
			line = string(r[:p.width-2]) + "…"
		}
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.drawn = true
		return
	}
	switch {
	case ev.UnitDone:
		fmt.Fprintf(p.w, "[%4d/%d] %-40s elapsed %-9s left %s\n", ev.UnitsDone, ev.Units, ev.Unit, ev.Elapsed.Round(time.Second), left(ev))
	case ev.Method != "" && now.Sub(p.lastLine) >= p.lineEvery:
		fmt.Fprintf(p.w, "           %s: %s done (%d/%d methods), elapsed %s\n", ev.Unit, ev.Method, ev.MethodsDone, ev.Methods, ev.Elapsed.Round(time.Second))
	default:
		return
	}
	p.lastLine = now
}

// finish ends the bar's line on a terminal.
func (p *progress) finish() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}

// clientTicker shows progress within a round of a simulation, for
// federations large enough that a round takes long: on a terminal one
// line redrawn in place ("round 3 fit: 340/1000 clients, …"), cleared
// before the round's own line; to a file or pipe a plain line when the
// last one is older than lineEvery.
type clientTicker struct {
	p          *progress
	roundStart time.Time
	round      int
	phase      string
}

func newClientTicker(w io.Writer) *clientTicker {
	return &clientTicker{p: newProgress(w)}
}

// done records that done of total clients have finished the round's phase.
func (c *clientTicker) done(round int, phase string, done, total int) {
	p := c.p
	now := p.now()
	if round != c.round || phase != c.phase {
		c.round, c.phase, c.roundStart = round, phase, now
	}
	elapsed := now.Sub(c.roundStart)
	rest := "?"
	if done > 0 {
		rest = "~" + time.Duration(float64(elapsed)/float64(done)*float64(total-done)).Round(time.Second).String()
	}
	line := fmt.Sprintf("round %d %s: %d/%d clients, %s in this phase, %s left", round, phase, done, total, elapsed.Round(time.Second), rest)
	if p.tty {
		if done < total && now.Sub(p.lastDraw) < 200*time.Millisecond {
			return
		}
		p.lastDraw = now
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.drawn = true
		return
	}
	if now.Sub(p.lastLine) >= p.lineEvery {
		fmt.Fprintln(p.w, line)
		p.lastLine = now
	}
}

// clear removes the in-place line before other output.
func (c *clientTicker) clear() {
	if c.p.tty && c.p.drawn {
		fmt.Fprint(c.p.w, "\r\033[K")
		c.p.drawn = false
	}
}
