package jcamp

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// This file decodes the numbers of a data line: AFFN (ASCII free format
// numeric, fields separated by blanks or commas), PAC (fields separated by
// their signs), and the ASCII squeezed difference forms (ASDF) SQZ, DIF and
// DUP, in which the first character of a number is a pseudo-digit carrying
// the number's form, sign and first digit (JCAMP-DX 4.24, §5.9):
//
//	SQZ  @ A B C D E F G H I   a b c d e f g h i   the ordinate: +0 … +9, −1 … −9
//	DIF  % J K L M N O P Q R   j k l m n o p q r   the difference from the previous ordinate
//	DUP    S T U V W X Y Z s                       the previous item occurs 1 … 9 times in all
//
// Subsequent digits are plain ASCII digits. A DUP count repeats the item
// before it: an ordinate, or a difference, which then applies again.

// form is how a number on a data line is to be read.
type form uint8

const (
	ordinate form = iota // AFFN, PAC or SQZ: an ordinate (or the line's abscissa)
	diff                 // DIF: the difference from the previous ordinate
	dup                  // DUP: the item before occurs this many times in all
)

// token is one number of a data line.
type token struct {
	form form
	v    float64 // the value (NaN for "?", an unknown ordinate)
	n    int     // the count of a DUP
	col  int     // 1-based column where the number starts
}

// maxDup bounds a DUP count, so that a corrupt line cannot ask for an
// unbounded allocation; the caller bounds the total by ##NPOINTS anyway.
const maxDup = 1 << 24

// pseudo returns the form, sign and digit of a pseudo-digit, or ok false
// if c is none.
func pseudo(c byte) (f form, digit int, neg, ok bool) {
	switch {
	case c == '@':
		return ordinate, 0, false, true
	case c >= 'A' && c <= 'I':
		return ordinate, int(c-'A') + 1, false, true
	case c >= 'a' && c <= 'i':
		return ordinate, int(c-'a') + 1, true, true
	case c == '%':
		return diff, 0, false, true
	case c >= 'J' && c <= 'R':
		return diff, int(c-'J') + 1, false, true
	case c >= 'j' && c <= 'r':
		return diff, int(c-'j') + 1, true, true
	case c >= 'S' && c <= 'Z':
		return dup, int(c-'S') + 1, false, true
	case c == 's':
		return dup, 9, false, true
	}
	return 0, 0, false, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// tokenize splits a data line, with any $$ comment removed, into its
// numbers, appending them to out.
func tokenize(s string, out []token) ([]token, error) {
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == ',' || c == '\r':
			i++
		case c == '?':
			out = append(out, token{form: ordinate, v: math.NaN(), col: i + 1})
			i++
		case c == '+' || c == '-' || c == '.' || isDigit(c):
			j := i
			if c == '+' || c == '-' {
				j++
			}
			start := j
			for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
				j++
			}
			if j == start || s[start:j] == "." {
				return out, fmt.Errorf("column %d: %q is not a number", i+1, s[i:min(j+1, len(s))])
			}
			// An exponent is E followed at once by a sign and digits; E
			// alone is the SQZ pseudo-digit +5 that starts the next number.
			if j+2 < len(s) && s[j] == 'E' && (s[j+1] == '+' || s[j+1] == '-') && isDigit(s[j+2]) {
				j += 2
				for j < len(s) && isDigit(s[j]) {
					j++
				}
			}
			v, err := strconv.ParseFloat(s[i:j], 64)
			if err != nil || math.IsInf(v, 0) {
				return out, fmt.Errorf("column %d: %q is not a finite number", i+1, s[i:j])
			}
			out = append(out, token{form: ordinate, v: v, col: i + 1})
			i = j
		default:
			f, d, neg, ok := pseudo(c)
			if !ok {
				return out, fmt.Errorf("column %d: %q is neither a digit, a sign, a separator nor an ASDF pseudo-digit", i+1, c)
			}
			j := i + 1
			for j < len(s) && (isDigit(s[j]) || (f != dup && s[j] == '.')) {
				j++
			}
			num := strconv.Itoa(d) + s[i+1:j]
			if f == dup {
				n, err := strconv.Atoi(num)
				if err != nil || n < 1 || n > maxDup {
					return out, fmt.Errorf("column %d: DUP count %q is not between 1 and %d", i+1, s[i:j], maxDup)
				}
				out = append(out, token{form: dup, n: n, col: i + 1})
			} else {
				v, err := strconv.ParseFloat(num, 64)
				if err != nil || math.IsInf(v, 0) {
					return out, fmt.Errorf("column %d: %q is not a number", i+1, s[i:j])
				}
				if neg {
					v = -v
				}
				out = append(out, token{form: f, v: v, col: i + 1})
			}
			i = j
		}
	}
	return out, nil
}

// lineDecoder turns the data lines of an (X++(Y..Y)) table into
// ordinates, checking each line's abscissa and, after a line that ended in
// DIF form, its Y check value.
type lineDecoder struct {
	first, step float64 // the abscissa of point 0 and the spacing, in X units
	xfactor     float64
	limit       int // the most ordinates the table may hold (##NPOINTS)

	ys      []float64 // ordinates so far, in file units (before YFACTOR)
	endsDIF bool      // the last line ended in DIF form: the next starts with a Y check
	toks    []token
}

// errTooMany is wrapped by the error of a table longer than ##NPOINTS.
var errTooMany = errors.New("more ordinates than ##NPOINTS")

// line decodes one data line.
func (d *lineDecoder) line(s string) error {
	var err error
	d.toks, err = tokenize(s, d.toks[:0])
	if err != nil {
		return err
	}
	if len(d.toks) == 0 {
		return nil // a blank line
	}
	x := d.toks[0]
	if x.form != ordinate || math.IsNaN(x.v) {
		return fmt.Errorf("column %d: a data line must begin with its abscissa (X) in AFFN or SQZ form", x.col)
	}
	toks := d.toks[1:]
	at := len(d.ys) // the point the line's first ordinate stands for
	if d.endsDIF && len(toks) > 0 {
		// The Y check: the first ordinate repeats the last of the line before.
		c := toks[0]
		if c.form != ordinate {
			return fmt.Errorf("column %d: the line before ended in DIF form, so this line must begin with a Y check value in SQZ or AFFN form", c.col)
		}
		last := d.ys[len(d.ys)-1]
		if !sameValue(c.v, last) {
			return fmt.Errorf("column %d: Y check value %s differs from the last ordinate of the line before, %s (a line lost or corrupted?)",
				c.col, strconv.FormatFloat(c.v, 'g', -1, 64), strconv.FormatFloat(last, 'g', -1, 64))
		}
		toks = toks[1:]
		at--
	}
	if want := d.first + float64(at)*d.step; !closeX(x.v*d.xfactor, want, d.step, d.xfactor) {
		return fmt.Errorf("abscissa check: the line starts at X = %s (× XFACTOR = %s), but its first ordinate is point %d, at %s by ##FIRSTX, ##LASTX and ##NPOINTS (a data line lost, or a wrong header?)",
			strconv.FormatFloat(x.v, 'g', -1, 64), strconv.FormatFloat(x.v*d.xfactor, 'g', 6, 64), at+1, strconv.FormatFloat(want, 'g', 6, 64))
	}
	d.endsDIF = false
	var prev *token // the item a DUP repeats
	for k := range toks {
		t := &toks[k]
		switch t.form {
		case ordinate:
			if err := d.push(t.v); err != nil {
				return err
			}
			d.endsDIF = false
		case diff:
			if len(d.ys) == 0 {
				return fmt.Errorf("column %d: a DIF value with no ordinate before it", t.col)
			}
			if err := d.push(d.ys[len(d.ys)-1] + t.v); err != nil {
				return err
			}
			d.endsDIF = true
		case dup:
			if prev == nil {
				return fmt.Errorf("column %d: a DUP count with nothing before it on the line to repeat", t.col)
			}
			if len(d.ys)+t.n-1 > d.limit {
				return fmt.Errorf("column %d: %w (%d)", t.col, errTooMany, d.limit)
			}
			for range t.n - 1 {
				v := prev.v
				if prev.form == diff {
					v += d.ys[len(d.ys)-1]
				}
				d.ys = append(d.ys, v)
			}
			continue // a DUP is not itself repeatable
		}
		prev = t
	}
	return nil
}

func (d *lineDecoder) push(v float64) error {
	if len(d.ys) >= d.limit {
		return fmt.Errorf("%w (%d)", errTooMany, d.limit)
	}
	d.ys = append(d.ys, v)
	return nil
}

// sameValue reports whether a Y check value equals the ordinate it
// repeats, allowing for the rounding of a decimal ordinate.
func sameValue(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*max(1, math.Abs(a), math.Abs(b))
}

// closeX reports whether a line's abscissa x is within one point spacing
// (or one unit of XFACTOR, to which writers round it) of where the line's
// first ordinate stands.
func closeX(x, want, step, xfactor float64) bool {
	tol := max(math.Abs(step), math.Abs(xfactor)) + 1e-9*max(1, math.Abs(want))
	return math.Abs(x-want) <= tol
}
