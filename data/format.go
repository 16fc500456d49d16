package data

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Format says how a CSV file is written. A field left empty is detected
// from the file's header and first lines.
type Format struct {
	// Delimiter separates the fields of a line: ",", ";", "tab", or
	// "whitespace" (runs of blanks and tabs, as in a table of aligned
	// columns).
	Delimiter string `json:"delimiter,omitempty" yaml:"delimiter,omitempty"`
	// Decimal is the decimal separator of the numbers: "." or ",". With a
	// ',' delimiter it is "." unless numbers are quoted.
	Decimal string `json:"decimal,omitempty" yaml:"decimal,omitempty"`
	// IDColumn names the column of sample IDs, or is "none" for a file
	// without one. Empty: the first column holds IDs if its name is one of
	// id, sample, sample_id, sample_name, name, or its first value is not a
	// number. Files with IDs are joined by them; files without are aligned
	// by row.
	IDColumn string `json:"id_column,omitempty" yaml:"id_column,omitempty"`
}

// Check reports a setting that is not allowed, naming its key.
func (f Format) Check() error {
	if _, err := delimiterOf(f.Delimiter); err != nil {
		return fmt.Errorf("delimiter: %w", err)
	}
	switch f.Decimal {
	case "", ".", ",":
	default:
		return fmt.Errorf("decimal: %q is not \".\" or \",\"", f.Decimal)
	}
	return nil
}

// Or returns f with each empty field taken from def.
func (f Format) Or(def Format) Format {
	if f.Delimiter == "" {
		f.Delimiter = def.Delimiter
	}
	if f.Decimal == "" {
		f.Decimal = def.Decimal
	}
	if f.IDColumn == "" {
		f.IDColumn = def.IDColumn
	}
	return f
}

// whitespace stands for the "whitespace" delimiter in a dialect.
const whitespace = ' '

// delimiterOf maps a Delimiter setting to its character (0: detect).
func delimiterOf(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case ",", "comma":
		return ',', nil
	case ";", "semicolon":
		return ';', nil
	case "tab", "\t", `\t`:
		return '\t', nil
	case "whitespace", "space", " ":
		return whitespace, nil
	}
	return 0, fmt.Errorf("%q is not \",\", \";\", \"tab\" or \"whitespace\"", s)
}

// dialect is how one file is read.
type dialect struct {
	delim    rune // ',', ';', '\t' or whitespace
	decimal  byte // '.' or ','
	detected []string
}

func (d dialect) delimName() string {
	switch d.delim {
	case '\t':
		return "tab"
	case whitespace:
		return "whitespace"
	}
	return string(d.delim)
}

// setHint is the advice that ends a detection error.
const setHint = "set delimiter (\",\", \";\", \"tab\" or \"whitespace\") in the data section, or for this file"

// sniff works out the dialect of a file from its first lines (the header
// first), for the settings of f left empty.
func sniff(lines []string, f Format) (dialect, error) {
	var d dialect
	var err error
	if d.delim, err = delimiterOf(f.Delimiter); err != nil {
		return d, err
	}
	if d.delim == 0 {
		if d.delim, err = sniffDelimiter(lines); err != nil {
			return d, err
		}
		d.detected = append(d.detected, "delimiter")
	}
	switch f.Decimal {
	case ".", ",":
		d.decimal = f.Decimal[0]
	default:
		if d.decimal, err = sniffDecimal(lines, d.delim); err != nil {
			return d, err
		}
		d.detected = append(d.detected, "decimal")
	}
	return d, nil
}

// sniffDelimiter picks the delimiter of a file from its header and first
// data lines: the one of ',', ';' and tab that the header holds; if it
// holds several, the one that splits every data line (or failing that,
// most of them) into as many fields as the header; then whitespace; and a
// header of one name is a file of one column.
func sniffDelimiter(lines []string) (rune, error) {
	if len(lines) == 0 {
		return ',', nil
	}
	data := lines[1:]
	counts := map[rune][]int{}
	var inHeader, full []rune
	best, bestAgree, tie := rune(0), -1, false
	for _, c := range []rune{',', ';', '\t'} {
		agree := 0
		for _, l := range lines {
			n := countOutsideQuotes(l, byte(c))
			counts[c] = append(counts[c], n)
			if n == counts[c][0] {
				agree++
			}
		}
		agree-- // the header itself
		if counts[c][0] == 0 {
			continue
		}
		inHeader = append(inHeader, c)
		if agree == len(data) {
			full = append(full, c)
		}
		switch {
		case agree > bestAgree:
			best, bestAgree, tie = c, agree, false
		case agree == bestAgree:
			tie = true
		}
	}
	switch {
	case len(inHeader) == 1:
		return inHeader[0], nil // a ragged line among the first is the parser's to name
	case len(full) == 1:
		return full[0], nil
	case len(full) > 1:
		names := make([]string, len(full))
		for i, c := range full {
			names[i] = dialect{delim: c}.delimName()
		}
		return 0, fmt.Errorf("cannot tell the delimiter: %s each split the header and the first %d lines into the same number of fields; %s",
			strings.Join(names, " and "), len(data), setHint)
	case len(inHeader) > 1 && !tie && 2*bestAgree >= len(data):
		return best, nil
	}
	ws := make([]int, len(lines))
	same := true
	for i, l := range lines {
		ws[i] = len(strings.Fields(l))
		same = same && ws[i] == ws[0]
	}
	switch {
	case len(inHeader) == 0 && same && ws[0] > 1:
		return whitespace, nil
	case len(inHeader) == 0 && ws[0] == 1:
		return ';', nil // one column: no delimiter, and ',' may be a decimal comma
	}
	return 0, fmt.Errorf("cannot tell the delimiter: across the first %d lines the fields per line differ with ',' (%s), ';' (%s), tab (%s) and whitespace (%s); %s",
		len(lines), ints(counts[','], 1), ints(counts[';'], 1), ints(counts['\t'], 1), ints(ws, 0), setHint)
}

func ints(v []int, add int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x + add)
	}
	return strings.Join(s, ", ")
}

// countOutsideQuotes counts c in line outside double-quoted fields.
func countOutsideQuotes(line string, c byte) int {
	n, quoted := 0, false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case c:
			if !quoted {
				n++
			}
		}
	}
	return n
}

// sniffDecimal looks at the numbers of the data lines (lines[1:]): a
// decimal comma when some are written like 1,5 and none like 1.5.
func sniffDecimal(lines []string, delim rune) (byte, error) {
	if delim == ',' {
		return '.', nil
	}
	var comma, dot string
	for _, l := range lines[min(1, len(lines)):] {
		for _, f := range splitFields(l, delim) {
			f = strings.Trim(strings.TrimSpace(f), `"`)
			switch {
			case comma == "" && isNumber(f, ','):
				comma = f
			case dot == "" && strings.Contains(f, ".") && isNumber(f, '.'):
				dot = f
			}
		}
	}
	switch {
	case comma != "" && dot != "":
		return 0, fmt.Errorf("cannot tell the decimal separator: the first lines hold both %q and %q; set decimal (\".\" or \",\") in the data section, or for this file", dot, comma)
	case comma != "":
		return ',', nil
	}
	return '.', nil
}

// isNumber reports whether s is a decimal number written with the decimal
// separator dec, which it must contain if dec is ','.
func isNumber(s string, dec byte) bool {
	if dec == ',' {
		if strings.Count(s, ",") != 1 || strings.Contains(s, ".") {
			return false
		}
		s = strings.Replace(s, ",", ".", 1)
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && !strings.ContainsAny(s, "xXnN_") // no hex, NaN, Inf or underscores
}

func splitFields(line string, delim rune) []string {
	if delim == whitespace {
		return strings.Fields(line)
	}
	return strings.Split(line, string(delim))
}

// isMissing reports whether a field stands for a missing value: empty,
// NA, N/A, #N/A, NaN (any case) or ?.
func isMissing(s string) bool {
	if len(s) > 4 || (len(s) > 0 && (s[0] >= '0' && s[0] <= '9' || s[0] == '-' || s[0] == '.')) {
		return false // the common case, a number, without lower-casing it
	}
	switch strings.ToLower(s) {
	case "", "na", "n/a", "#n/a", "nan", "?":
		return true
	}
	return false
}

// parseValue parses one field as a float32 with the decimal separator
// dec. ok is false for a missing value; a value that is not a number, or
// is infinite or out of float32 range, is an error.
func parseValue(s string, dec byte) (v float32, ok bool, err error) {
	s = strings.TrimSpace(s)
	if isMissing(s) {
		return 0, false, nil
	}
	t := s
	if dec == ',' {
		if strings.Contains(s, ".") {
			return 0, false, fmt.Errorf("%q has a '.' but the decimal separator is ',' (no thousands separators, please)", s)
		}
		t = strings.Replace(s, ",", ".", 1)
	}
	f, err := strconv.ParseFloat(t, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, false, fmt.Errorf("%q is out of the float32 range", s)
		}
		if dec == '.' && isNumber(s, ',') {
			return 0, false, fmt.Errorf("cannot parse %q as a number (a decimal comma? set decimal: \",\")", s)
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

// idNames are the header names taken for a column of sample IDs, compared
// after lower-casing and removing blanks, '_' and '-'.
var idNames = map[string]bool{"id": true, "sample": true, "sampleid": true, "samplename": true, "name": true, "sampleno": true}

func isIDName(h string) bool {
	h = strings.ToLower(h)
	h = strings.NewReplacer(" ", "", "_", "", "-", "", ".", "").Replace(h)
	return idNames[h]
}
