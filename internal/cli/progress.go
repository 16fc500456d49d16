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
