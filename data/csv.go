package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
)

// FormatError reports a problem at a place in a data file: the file, and
// where known the line, the column and the column's header name.
type FormatError struct {
	File   string // path within the fs.FS
	Line   int    // 1-based line number; 0 when the problem is not on one line
	Column int    // 1-based field number; 0 when the problem is not in one field
	Header string // the column's name from the header line, if known
	Err    error  // what is wrong
}

// Error formats the place and the problem, as in
// `corn/m5.csv line 17 column 203 (w1504): cannot parse "abc" as a number`.
func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Column > 0 {
		fmt.Fprintf(&b, " column %d", e.Column)
	}
	if e.Header != "" {
		fmt.Fprintf(&b, " (%s)", e.Header)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *FormatError) Unwrap() error { return e.Err }

// table is the selected columns of one CSV file, parsed.
type table struct {
	file    string
	header  []string  // all column names
	cols    []int     // selected field indices, in selection order
	rows    int       // data rows
	data    []float32 // rows × len(cols), row-major
	missing []bool    // per row: every selected value missing (nil if none was)
}

// readTable reads file from fsys: one header line of distinct column
// names, then rows of numbers with as many fields as the header. Only the
// columns named in columns (all of them if columns is nil) are parsed, in
// the order given. A value that is empty or NaN (any case) is missing. If
// wholeRowsMissing is true a row whose selected values are all missing is
// recorded in missing and stored as zeros; any other missing value is an
// error.
func readTable(fsys fs.FS, file string, columns []string, wholeRowsMissing bool) (*table, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseTable(f, file, columns, wholeRowsMissing)
}

func parseTable(r io.Reader, file string, columns []string, wholeRowsMissing bool) (*table, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // checked here, to name the counts
	t := &table{file: file}

	rec, err := cr.Read()
	if err == io.EOF {
		return nil, &FormatError{File: file, Err: errors.New("empty file: want a header line of column names")}
	}
	if err != nil {
		return nil, wrapCSV(file, err)
	}
	if t.header, err = parseHeader(file, rec); err != nil {
		return nil, err
	}
	if t.cols, err = selectColumns(file, t.header, columns); err != nil {
		return nil, err
	}

	width := len(t.cols)
	for {
		rec, err = cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, wrapCSV(file, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(t.header) {
			return nil, &FormatError{File: file, Line: line,
				Err: fmt.Errorf("%d fields, want %d as in the header", len(rec), len(t.header))}
		}
		row := t.rows
		t.data = slices.Grow(t.data, width)[:(row+1)*width] // grown memory is zero
		vals := t.data[row*width:]
		firstMissing, nMissing := -1, 0
		for k, c := range t.cols {
			v, ok, err := parseValue(rec[c])
			if err != nil {
				line, _ := cr.FieldPos(c)
				return nil, &FormatError{File: file, Line: line, Column: c + 1, Header: t.header[c], Err: err}
			}
			if !ok {
				if firstMissing < 0 {
					firstMissing = c
				}
				nMissing++
				continue
			}
			vals[k] = v
		}
		if nMissing > 0 {
			if !wholeRowsMissing || nMissing < width {
				line, _ := cr.FieldPos(firstMissing)
				msg := "missing value (empty or NaN)"
				if wholeRowsMissing {
					msg += "; a modality must be wholly present or wholly missing in a row"
				}
				return nil, &FormatError{File: file, Line: line, Column: firstMissing + 1,
					Header: t.header[firstMissing], Err: errors.New(msg)}
			}
			if t.missing == nil {
				t.missing = make([]bool, row, row+1)
			}
			clear(vals[:width])
		}
		if t.missing != nil {
			t.missing = append(t.missing, nMissing > 0)
		}
		t.rows++
	}
	if t.rows == 0 {
		return nil, &FormatError{File: file, Err: errors.New("no data rows after the header")}
	}
	return t, nil
}

// parseHeader checks and returns a copy of the header record.
func parseHeader(file string, rec []string) ([]string, error) {
	header := make([]string, len(rec))
	numeric := true
	for i, s := range rec {
		if i == 0 {
			s = strings.TrimPrefix(s, "\ufeff") // a byte-order mark
		}
		s = strings.TrimSpace(s)
		header[i] = s
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			numeric = false
		}
	}
	if numeric {
		return nil, &FormatError{File: file, Line: 1,
			Err: errors.New("the first line holds numbers, not column names: want one header line")}
	}
	at := make(map[string]int, len(header))
	for i, s := range header {
		if s == "" {
			return nil, &FormatError{File: file, Line: 1, Column: i + 1, Err: errors.New("empty column name in the header")}
		}
		if j, dup := at[s]; dup {
			return nil, &FormatError{File: file, Line: 1, Column: i + 1, Header: s,
				Err: fmt.Errorf("column name repeats column %d", j+1)}
		}
		at[s] = i
	}
	return header, nil
}

// selectColumns returns the field indices of the named columns, or of all
// columns if names is nil.
func selectColumns(file string, header, names []string) ([]int, error) {
	if names == nil {
		cols := make([]int, len(header))
		for i := range cols {
			cols[i] = i
		}
		return cols, nil
	}
	if len(names) == 0 {
		return nil, &FormatError{File: file, Err: errors.New("an empty list of columns was requested")}
	}
	at := make(map[string]int, len(header))
	for i, s := range header {
		at[s] = i
	}
	cols := make([]int, len(names))
	for k, name := range names {
		i, ok := at[name]
		if !ok {
			return nil, &FormatError{File: file,
				Err: fmt.Errorf("no column %q; the columns are %s", name, listNames(header))}
		}
		for _, prev := range names[:k] {
			if prev == name {
				return nil, &FormatError{File: file, Err: fmt.Errorf("column %q requested twice", name)}
			}
		}
		cols[k] = i
	}
	return cols, nil
}

// parseValue parses one field as a float32. ok is false for a missing value
// (empty or NaN); a value that is not a number, or is infinite or out of
// float32 range, is an error.
func parseValue(s string) (v float32, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	f, err := strconv.ParseFloat(s, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, false, fmt.Errorf("%q is out of the float32 range", s)
		}
		return 0, false, fmt.Errorf("cannot parse %q as a number", s)
	}
	if math.IsNaN(f) {
		return 0, false, nil
	}
	if math.IsInf(f, 0) {
		return 0, false, fmt.Errorf("%q is not a finite number", s)
	}
	return float32(f), true, nil
}

// wrapCSV adds the file name to an error from encoding/csv, whose
// *csv.ParseError already names the line and column.
func wrapCSV(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &FormatError{File: file, Line: pe.Line, Err: fmt.Errorf("%w (at character %d of the line)", pe.Err, pe.Column)}
	}
	return fmt.Errorf("%s: %w", file, err)
}

// readLabels reads the named column of file as strings, one per data row,
// with the line of each and the column's 1-based field number.
func readLabels(fsys fs.FS, file, column string) (labels []string, lines []int, col int, err error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, nil, 0, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	rec, err := cr.Read()
	if err == io.EOF {
		return nil, nil, 0, &FormatError{File: file, Err: errors.New("empty file: want a header line of column names")}
	}
	if err != nil {
		return nil, nil, 0, wrapCSV(file, err)
	}
	header, err := parseHeader(file, rec)
	if err != nil {
		return nil, nil, 0, err
	}
	cols, err := selectColumns(file, header, []string{column})
	if err != nil {
		return nil, nil, 0, err
	}
	c := cols[0]
	for {
		rec, err = cr.Read()
		if err == io.EOF {
			return labels, lines, c + 1, nil
		}
		if err != nil {
			return nil, nil, 0, wrapCSV(file, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, nil, 0, &FormatError{File: file, Line: line,
				Err: fmt.Errorf("%d fields, want %d as in the header", len(rec), len(header))}
		}
		labels = append(labels, strings.TrimSpace(rec[c]))
		lines = append(lines, line)
	}
}
