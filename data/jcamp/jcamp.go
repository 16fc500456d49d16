// Package jcamp decodes JCAMP-DX files (versions 4.24 and 5.01), the text
// format in which spectrometers exchange spectra: blocks of labelled data
// records ("##LABEL=value") from ##TITLE to ##END, each holding one
// spectrum as an (X++(Y..Y)) table of equally spaced ordinates, in plain
// numbers (AFFN, PAC) or the compressed forms SQZ, DIF and DUP. A file holds
// one block, several blocks one after another, or a LINK block
// (##DATA TYPE=LINK, ##BLOCKS=n) that encloses n blocks.
//
// Decode returns every spectrum of a file. It reads what instruments write
// for spectra — ##XYDATA=(X++(Y..Y)) with ##XFACTOR, ##YFACTOR, ##FIRSTX,
// ##LASTX and ##NPOINTS — checks each data line's abscissa against the
// header and, in DIF form, each line's Y check value against the line
// before, and refuses with a clear error what it does not read: peak
// tables, (XY..XY) point lists and n-tuples. The package does no I/O of its
// own: it reads from an io.Reader.
package jcamp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Spectrum is one spectrum of a JCAMP-DX file.
type Spectrum struct {
	// Title is the block's ##TITLE, trimmed.
	Title string
	// Block numbers the spectrum among the file's spectra, from 1.
	Block int
	// Line is the line of the block's ##TITLE.
	Line int
	// DataType, XUnits and YUnits are ##DATA TYPE, ##XUNITS and ##YUNITS.
	DataType, XUnits, YUnits string
	// FirstX and LastX are the abscissae of the first and the last point
	// (##FIRSTX and ##LASTX, in XUNITS).
	FirstX, LastX float64
	// Y holds the ##NPOINTS ordinates in YUNITS (##YFACTOR applied); an
	// unknown ordinate ("?") is NaN.
	Y []float64
	// Labels holds every labelled data record of the block by its
	// normalised label (upper case, without spaces, '-', '/' and '_':
	// "DATATYPE", "JCAMPDX", "$INSTRUMENTSERIAL"), its value trimmed.
	Labels map[string]string
}

// X returns the abscissa of point i: FirstX + i·(LastX − FirstX)/(n − 1)
// for n = len(Y) points.
func (s *Spectrum) X(i int) float64 {
	if len(s.Y) < 2 {
		return s.FirstX
	}
	return s.FirstX + float64(i)*(s.LastX-s.FirstX)/float64(len(s.Y)-1)
}

// Error is a problem at a line of a JCAMP-DX file.
type Error struct {
	Line  int    // 1-based; 0 when the problem is not on one line
	Label string // the labelled data record, as written ("##XYDATA"), if any
	Err   error
}

// Error formats the place and the problem: "line 12 (##XYDATA): …".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d", e.Line)
	}
	if e.Label != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "(%s)", e.Label)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// maxPoints bounds ##NPOINTS, so that a corrupt header cannot ask for an
// unbounded allocation.
const maxPoints = 1 << 24

// record is one labelled data record: "##LABEL=value" and the lines that
// follow it up to the next record.
type record struct {
	label string // normalised
	raw   string // as written, with the ##
	value string // the text after '=' on the label's line, comment removed
	line  int
	more  []dataLine // the following lines
}

type dataLine struct {
	text string
	line int
}

// block is a ##TITLE … ##END block being read.
type block struct {
	title    string
	line     int
	labels   map[string]string
	xydata   *record
	refused  *record // a table this package does not read
	children int     // blocks nested in it
	blocks   int     // ##BLOCKS, for a LINK block (-1: not given)
}

// Decode reads every spectrum of a JCAMP-DX file from r, in file order.
// A file with no spectrum is an error, as is anything malformed; errors
// are *Error values naming the line.
func Decode(r io.Reader) ([]Spectrum, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4<<10), 16<<20)
	var (
		out   []Spectrum
		stack []*block
		cur   *record
		line  int
	)
	finish := func(rec *record) error {
		if rec == nil {
			return nil
		}
		switch rec.label {
		case "TITLE":
			if len(stack) > 0 {
				stack[len(stack)-1].children++
			}
			stack = append(stack, &block{title: rec.value, line: rec.line, labels: map[string]string{}, blocks: -1})
			stack[len(stack)-1].labels[rec.label] = rec.value
			return nil
		case "END":
			if len(stack) == 0 {
				return &Error{Line: rec.line, Label: rec.raw, Err: errors.New("##END with no block open (no ##TITLE before it)")}
			}
			b := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			return closeBlock(b, rec.line, &out)
		}
		if len(stack) == 0 {
			return &Error{Line: rec.line, Label: rec.raw, Err: errors.New("a labelled data record before the first ##TITLE")}
		}
		b := stack[len(stack)-1]
		switch rec.label {
		case "XYDATA":
			if b.xydata != nil {
				return &Error{Line: rec.line, Label: rec.raw, Err: fmt.Errorf("a second ##XYDATA in the block of line %d", b.line)}
			}
			b.xydata = rec
		case "PEAKTABLE", "XYPOINTS", "NTUPLES", "PEAKASSIGNMENTS", "DATATABLE":
			if b.refused == nil {
				b.refused = rec
			}
		case "BLOCKS":
			n, err := strconv.Atoi(strings.TrimSpace(rec.value))
			if err != nil || n < 0 {
				return &Error{Line: rec.line, Label: rec.raw, Err: fmt.Errorf("%q is not a count of blocks", rec.value)}
			}
			b.blocks = n
		}
		if len(rec.more) > 0 && rec.label != "XYDATA" && b.refused != rec {
			// A value continued on the following lines (a long ##TITLE or comment).
			var parts []string
			if rec.value != "" {
				parts = append(parts, rec.value)
			}
			for _, m := range rec.more {
				if t := strings.TrimSpace(m.text); t != "" {
					parts = append(parts, t)
				}
			}
			rec.value = strings.Join(parts, " ")
		}
		b.labels[rec.label] = rec.value
		return nil
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if i := strings.Index(text, "$$"); i >= 0 {
			text = text[:i]
		}
		trimmed := strings.TrimLeft(text, " \t")
		if strings.HasPrefix(trimmed, "##") {
			if err := finish(cur); err != nil {
				return nil, err
			}
			raw, value, ok := strings.Cut(trimmed, "=")
			if !ok {
				return nil, &Error{Line: line, Label: strings.TrimSpace(raw), Err: errors.New("a label without '='")}
			}
			raw = strings.TrimSpace(raw)
			cur = &record{label: Normalize(raw[2:]), raw: raw, value: strings.TrimSpace(value), line: line}
			continue
		}
		if cur == nil {
			if strings.TrimSpace(text) == "" {
				continue
			}
			return nil, &Error{Line: line, Err: errors.New("text before the first labelled data record: not a JCAMP-DX file?")}
		}
		cur.more = append(cur.more, dataLine{text: text, line: line})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &Error{Line: line + 1, Err: errors.New("a line longer than 16 MiB: not a JCAMP-DX file?")}
		}
		return nil, err
	}
	if err := finish(cur); err != nil {
		return nil, err
	}
	if len(stack) > 0 {
		b := stack[len(stack)-1]
		return nil, &Error{Line: b.line, Label: "##TITLE", Err: fmt.Errorf("the block %q has no ##END", b.title)}
	}
	if len(out) == 0 {
		return nil, &Error{Err: errors.New("no spectrum (no block with ##XYDATA=(X++(Y..Y)))")}
	}
	return out, nil
}

// Normalize returns a label in the form Labels keys use: upper case, with
// spaces, '-', '/' and '_' removed, so that "##DATA TYPE", "##DATATYPE" and
// "##data_type" are one label.
func Normalize(label string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(label) {
		switch r {
		case ' ', '\t', '-', '/', '_':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// closeBlock finishes a block that ended at line end: a block with
// ##XYDATA becomes a spectrum; a LINK block must hold the blocks it
// announced; a table this package does not read is refused.
func closeBlock(b *block, end int, out *[]Spectrum) error {
	if b.blocks >= 0 && b.children != b.blocks {
		return &Error{Line: b.line, Label: "##BLOCKS", Err: fmt.Errorf("the LINK block %q announces %d blocks but holds %d (ending at line %d)", b.title, b.blocks, b.children, end)}
	}
	if b.xydata == nil {
		if r := b.refused; r != nil {
			return &Error{Line: r.line, Label: r.raw, Err: fmt.Errorf("the block %q holds a %s, which is not read: only spectra as ##XYDATA=(X++(Y..Y)) are (export the spectrum as XYDATA)", b.title, r.raw)}
		}
		return nil // a LINK block, or one without data (a structure, a comment)
	}
	s, err := spectrum(b)
	if err != nil {
		return err
	}
	s.Block = len(*out) + 1
	*out = append(*out, s)
	return nil
}

// spectrum decodes the (X++(Y..Y)) table of a block.
func spectrum(b *block) (Spectrum, error) {
	xy := b.xydata
	fail := func(line int, label string, err error) (Spectrum, error) {
		return Spectrum{}, &Error{Line: line, Label: label, Err: err}
	}
	if form := Normalize(xy.value); form != "(X++(Y..Y))" {
		return fail(xy.line, xy.raw, fmt.Errorf("table form %q: only (X++(Y..Y)) is read", xy.value))
	}
	num := func(label string, def float64) (float64, error) {
		v, ok := b.labels[label]
		if !ok || v == "" {
			if !math.IsNaN(def) {
				return def, nil
			}
			return 0, fmt.Errorf("the block %q (line %d) has no ##%s, which ##XYDATA=(X++(Y..Y)) needs", b.title, b.line, label)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Errorf("##%s=%s in the block %q (line %d) is not a number", label, v, b.title, b.line)
		}
		return f, nil
	}
	var vals [5]float64
	for i, l := range []struct {
		label string
		def   float64
	}{{"FIRSTX", math.NaN()}, {"LASTX", math.NaN()}, {"NPOINTS", math.NaN()}, {"XFACTOR", 1}, {"YFACTOR", 1}} {
		v, err := num(l.label, l.def)
		if err != nil {
			return fail(xy.line, xy.raw, err)
		}
		vals[i] = v
	}
	first, last, np, xf, yf := vals[0], vals[1], vals[2], vals[3], vals[4]
	if np != math.Trunc(np) || np < 1 || np > maxPoints {
		return fail(xy.line, xy.raw, fmt.Errorf("##NPOINTS=%v is not a count between 1 and %d", np, maxPoints))
	}
	if xf == 0 || yf == 0 {
		return fail(xy.line, xy.raw, errors.New("##XFACTOR and ##YFACTOR must not be 0"))
	}
	n := int(np)
	d := &lineDecoder{first: first, xfactor: xf, limit: n, ys: make([]float64, 0, min(n, 1<<12))}
	if n > 1 {
		d.step = (last - first) / float64(n-1)
	}
	for _, l := range xy.more {
		if err := d.line(l.text); err != nil {
			return fail(l.line, xy.raw, err)
		}
	}
	if len(d.ys) != n {
		return fail(xy.line, xy.raw, fmt.Errorf("##NPOINTS=%d but the table holds %d ordinates", n, len(d.ys)))
	}
	for i := range d.ys {
		d.ys[i] *= yf
	}
	return Spectrum{
		Title: b.title, Line: b.line,
		DataType: b.labels["DATATYPE"], XUnits: b.labels["XUNITS"], YUnits: b.labels["YUNITS"],
		FirstX: first, LastX: last, Y: d.ys, Labels: b.labels,
	}, nil
}
