package data

import (
	"bufio"
	"bytes"
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

// kind of table: what the selected columns of a file hold.
type tableKind uint8

const (
	modalityTable tableKind = iota // numbers; a row is wholly present or wholly missing
	responseTable                  // numbers; each may be missing (NaN)
	labelTable                     // one column of text (split labels)
)

// table is the selected columns of one source, parsed: a CSV file, or the
// spectra of a JCAMP-DX modality, one row each.
type table struct {
	file    string   // the file, or for JCAMP-DX what was read
	header  []string // all column names
	cols    []int    // selected field indices, in selection order
	idCol   int      // field index of the sample IDs; -1 for none
	idAuto  bool     // the ID column was detected, not named
	dialect dialect
	rows    int
	ids     []string  // per row (nil without an ID column)
	lines   []int     // per row, its 1-based line
	files   []string  // per row, its file, when rows come from several (JCAMP-DX)
	data    []float32 // rows × len(cols), row-major; NaN for a missing response
	absent  []bool    // per row of a modality: every selected value missing
	labels  []string  // per row, the label (labelTable)
	// bad holds the rows with a problem (an unparsable value, a ragged or a
	// partly missing row). The problem is reported only if the row is used,
	// so that a selection of rows skips the others entirely.
	bad map[int]error
}

// where returns the file and line of row r.
func (t *table) where(r int) (string, int) {
	if t.files != nil {
		return t.files[r], t.lines[r]
	}
	return t.file, t.lines[r]
}

func (t *table) fail(r int, err error) {
	if t.bad == nil {
		t.bad = map[int]error{}
	}
	if _, ok := t.bad[r]; !ok {
		t.bad[r] = err
	}
}

// tableOpts say what to read from a file.
type tableOpts struct {
	kind    tableKind
	format  Format
	columns []string // nil: every column but the ID column and exclude
	exclude []string
}

// readTable reads file from fsys as opts say.
func readTable(fsys fs.FS, file string, opts tableOpts) (*table, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseTable(f, file, opts)
}

// sniffLines is how many lines (the header and data lines) the delimiter
// and decimal separator are detected from.
const sniffLines = 8

// parseTable reads a file of one header line of distinct column names,
// then rows with as many fields as the header. Only the selected columns
// are parsed. A value that is empty, NA, N/A, #N/A, NaN or ? is missing.
func parseTable(r io.Reader, file string, opts tableOpts) (*table, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var head bytes.Buffer
	var lines []string
	for len(lines) < sniffLines {
		l, err := br.ReadString('\n')
		head.WriteString(l)
		if t := strings.TrimSpace(strings.TrimPrefix(l, "\ufeff")); t != "" {
			lines = append(lines, strings.TrimRight(strings.TrimPrefix(l, "\ufeff"), "\r\n"))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	if len(lines) == 0 {
		return nil, &FormatError{File: file, Err: errors.New("empty file: want a header line of column names")}
	}
	d, err := sniff(lines, opts.format)
	if err != nil {
		return nil, &FormatError{File: file, Err: err}
	}
	rr := newRecords(io.MultiReader(&head, br), d.delim)
	t := &table{file: file, dialect: d, idCol: -1}

	rec, _, err := rr.Read()
	if err != nil {
		return nil, wrapCSV(file, err)
	}
	if t.header, err = parseHeader(file, rec); err != nil {
		return nil, err
	}
	first, firstLine, err := rr.Read()
	if err == io.EOF {
		return nil, &FormatError{File: file, Err: errors.New("no data rows after the header")}
	}
	if err != nil {
		return nil, wrapCSV(file, err)
	}
	if err := t.chooseColumns(opts, first); err != nil {
		return nil, err
	}
	width := len(t.cols)
	rec, line := first, firstLine
	for {
		row := t.rows
		t.rows++
		t.lines = append(t.lines, line)
		if t.idCol >= 0 {
			id := ""
			if t.idCol < len(rec) {
				id = strings.TrimSpace(rec[t.idCol])
			}
			t.ids = append(t.ids, id)
		}
		switch opts.kind {
		case labelTable:
			l := ""
			if t.cols[0] < len(rec) {
				l = strings.TrimSpace(rec[t.cols[0]])
			}
			t.labels = append(t.labels, l)
		default:
			t.data = slices.Grow(t.data, width)[:(row+1)*width] // grown memory is zero
		}
		if len(rec) != len(t.header) {
			msg := fmt.Sprintf("%d fields, want %d as in the header", len(rec), len(t.header))
			if d.delim == ',' && len(rec) > len(t.header) {
				msg += " (decimal commas in a comma-separated file? set delimiter: \";\" or quote the numbers)"
			}
			t.fail(row, &FormatError{File: file, Line: line, Err: errors.New(msg)})
		} else if opts.kind != labelTable {
			absent := t.parseRow(row, rec, line, opts.kind, d.decimal)
			if opts.kind == modalityTable {
				t.absent = append(t.absent, absent)
			}
		}
		if opts.kind == modalityTable && len(t.absent) < t.rows {
			t.absent = append(t.absent, false)
		}
		rec, line, err = rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, wrapCSV(file, err)
		}
	}
	return t, nil
}

// chooseColumns finds the ID column and the selected columns, given the
// first data record.
func (t *table) chooseColumns(opts tableOpts, first []string) error {
	file, header := t.file, t.header
	wanted := map[string]bool{}
	for _, c := range opts.columns {
		wanted[c] = true
	}
	switch id := opts.format.IDColumn; id {
	case "none":
	case "":
		if len(header) < 2 || wanted[header[0]] || slices.Contains(opts.exclude, header[0]) {
			break
		}
		v := ""
		if len(first) > 0 {
			v = strings.TrimSpace(first[0])
		}
		if isIDName(header[0]) || (!isMissing(v) && !isNumber(v, t.dialect.decimal) && !isNumber(v, '.')) {
			t.idCol, t.idAuto = 0, true
		}
	default:
		t.idCol = slices.Index(header, id)
		if t.idCol < 0 {
			return &FormatError{File: file, Err: fmt.Errorf("no ID column %q (id_column); the columns are %s", id, listNames(header))}
		}
	}
	var cols []int
	if len(opts.columns) == 0 { // nil, or [] as a configuration written back reads
		for i, h := range header {
			if i != t.idCol && !slices.Contains(opts.exclude, h) {
				cols = append(cols, i)
			}
		}
		if len(cols) == 0 {
			return &FormatError{File: file, Err: fmt.Errorf("no columns to read besides the ID column %q", header[t.idCol])}
		}
	} else {
		var err error
		if cols, err = selectColumns(file, header, opts.columns); err != nil {
			return err
		}
	}
	if t.idCol >= 0 && slices.Contains(cols, t.idCol) {
		return &FormatError{File: file, Column: t.idCol + 1, Header: header[t.idCol],
			Err: errors.New("the ID column is also requested as data; name another id_column, or none")}
	}
	if opts.kind == labelTable && len(cols) != 1 {
		panic("data: a label table reads one column")
	}
	t.cols = cols
	return nil
}

// parseRow parses the selected values of a record into row row and
// reports whether all of them are missing.
func (t *table) parseRow(row int, rec []string, line int, kind tableKind, dec byte) (absent bool) {
	width := len(t.cols)
	vals := t.data[row*width : (row+1)*width]
	firstMissing, nMissing := -1, 0
	for k, c := range t.cols {
		v, ok, err := parseValue(rec[c], dec)
		if err != nil {
			if c == 0 && t.idCol < 0 && strings.HasPrefix(err.Error(), "cannot parse") && !strings.HasSuffix(err.Error(), ")") {
				err = fmt.Errorf("%w (if column 1 holds sample IDs, set id_column: %s)", err, t.header[0])
			}
			t.fail(row, &FormatError{File: t.file, Line: line, Column: c + 1, Header: t.header[c], Err: err})
			clear(vals)
			return false
		}
		if !ok {
			if firstMissing < 0 {
				firstMissing = c
			}
			nMissing++
			if kind == responseTable {
				vals[k] = float32(math.NaN())
			}
			continue
		}
		vals[k] = v
	}
	if kind == modalityTable && nMissing > 0 && nMissing < width {
		t.fail(row, &FormatError{File: t.file, Line: line, Column: firstMissing + 1, Header: t.header[firstMissing],
			Err: errors.New("missing value (empty, NA or NaN); a modality must be wholly present or wholly missing in a row")})
		clear(vals)
	}
	return kind == modalityTable && nMissing == width
}

// isAbsent reports whether row r of a modality table has no values.
func (t *table) isAbsent(r int) bool { return t.absent != nil && t.absent[r] }

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
		if slices.Contains(cols[:k], i) {
			return nil, &FormatError{File: file, Err: fmt.Errorf("column %q requested twice", name)}
		}
		cols[k] = i
	}
	return cols, nil
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

// records reads the records of a delimited file.
type records interface {
	// Read returns the next record and its line, or io.EOF.
	Read() (rec []string, line int, err error)
}

func newRecords(r io.Reader, delim rune) records {
	if delim == whitespace {
		return &fieldRecords{sc: bufio.NewReaderSize(r, 64<<10)}
	}
	cr := csv.NewReader(r)
	cr.Comma = delim
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // checked by the caller, to name the counts
	return csvRecords{cr}
}

type csvRecords struct{ r *csv.Reader }

func (c csvRecords) Read() ([]string, int, error) {
	rec, err := c.r.Read()
	if err != nil {
		return nil, 0, err
	}
	line, _ := c.r.FieldPos(0)
	return rec, line, nil
}

// fieldRecords splits lines at runs of blanks and tabs, skipping blank lines.
type fieldRecords struct {
	sc   *bufio.Reader
	line int
	rec  []string
}

func (f *fieldRecords) Read() ([]string, int, error) {
	for {
		l, err := f.sc.ReadString('\n')
		if l == "" && err != nil {
			return nil, 0, err
		}
		f.line++
		if f.line == 1 {
			l = strings.TrimPrefix(l, "\ufeff")
		}
		f.rec = append(f.rec[:0], strings.Fields(l)...)
		if len(f.rec) > 0 {
			return f.rec, f.line, nil
		}
		if err != nil {
			return nil, 0, err
		}
	}
}
