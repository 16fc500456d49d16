package jcamp

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The files in ../testdata/jcamp were written by hand to the standard;
// their ordinates are worked out here independently of the decoder.
func TestDecodeFiles(t *testing.T) {
	scale := func(f float64, ys ...float64) []float64 {
		for i := range ys {
			ys[i] *= f
		}
		return ys
	}
	type spec struct {
		title         string
		first, last   float64
		y             []float64
		xunits, dtype string
	}
	tests := []struct {
		file string
		want []spec
	}{
		{"dif.jdx", []spec{{"DIF form: the worked example of the JCAMP-DX specification", 1, 12,
			scale(0.001, 1000, 2000, 2001, 2002, 2003, 2003, 2003, 2004, 2006, 2006, 1990, 1980), "1/CM", "INFRARED SPECTRUM"}}},
		{"difdup.jdx", []spec{{"DIFDUP form: the worked example of the JCAMP-DX specification", 1, 12,
			scale(0.001, 1000, 2000, 2001, 2002, 2003, 2003, 2003, 2004, 2005, 2006, 2006, 2006), "1/CM", "INFRARED SPECTRUM"}}},
		{"sqz.jdx", []spec{{"SQZ form, decreasing abscissa", 4000, 3993,
			[]float64{1000, 2000, 2001, 2002, 2003, 2003, 2003, -15}, "1/CM", "INFRARED SPECTRUM"}}},
		{"affn.jdx", []spec{{"AFFN form with XFACTOR and exponents", 2200, 2205,
			[]float64{0.25, 0.5, 0.125, -1.5, 2, 3.5}, "NANOMETERS", "NEAR INFRARED SPECTRUM"}}},
		{"pac.jdx", []spec{{"PAC form: the worked example of the JCAMP-DX specification", 1, 7,
			[]float64{1000, 2000, 2001, 2002, 2003, 2003, 2003}, "1/CM", "INFRARED SPECTRUM"}}},
		{"link.jdx", []spec{
			{"S01", 1100, 1110, scale(0.0001, 4512, 4515, 4516, 4516, 4514, 4512), "NANOMETERS", "NEAR INFRARED SPECTRUM"},
			{"S02", 1100, 1110, scale(0.0001, 4420, 4431, 4440, 4447, 4452, 4455), "NANOMETERS", "NEAR INFRARED SPECTRUM"},
			{"S03", 1100, 1110, scale(0.0001, 4601, 4603, 4604, 4604, 4600, 4599), "NANOMETERS", "NEAR INFRARED SPECTRUM"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "testdata", "jcamp", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d spectra, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Title != w.title || g.FirstX != w.first || g.LastX != w.last || g.XUnits != w.xunits || g.DataType != w.dtype || g.Block != i+1 {
					t.Errorf("spectrum %d: %q block %d, x %v…%v %s, %s; want %q block %d, x %v…%v %s, %s",
						i, g.Title, g.Block, g.FirstX, g.LastX, g.XUnits, g.DataType, w.title, i+1, w.first, w.last, w.xunits, w.dtype)
				}
				if !close(g.Y, w.y) {
					t.Errorf("spectrum %d: y = %v, want %v", i, g.Y, w.y)
				}
			}
		})
	}
}

func close(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12*max(1, math.Abs(b[i])) {
			return false
		}
	}
	return true
}

// TestSpecificationLines decodes the worked examples of the JCAMP-DX
// specification — one sequence in each form — and those of the
// University of the West Indies' JCAMP-DX test page.
func TestSpecificationLines(t *testing.T) {
	spec := []float64{1000, 2000, 2001, 2002, 2003, 2003, 2003}
	uwi := []float64{99, 98, 97, 96, 98, 93}
	tests := []struct {
		form, line string
		want       []float64
	}{
		{"AFFN", "1000 2000 2001 2002 2003 2003 2003", spec},
		{"PAC", "+1000+2000+2001+2002+2003+2003+2003", spec},
		{"SQZ", "A000B000B001B002B003B003B003", spec},
		{"DIF", "A000J000JJJ%%", spec},
		{"DIFDUP", "A000J000JU%%", spec},
		{"DIFDUP (DUP of %)", "A000J000JU%T", spec},
		{"AFFN, blanks", "99 98 97 96 98 93", uwi},
		{"AFFN, commas", "99,98,97,96,98,93", uwi},
		{"PAC", "99+98+97+96+98+93", uwi},
		{"SQZ", "99I8I7I6I8I3", uwi},
		{"DIF", "99jjjKn", uwi},
		{"DIFDUP", "99jUKn", uwi},
		{"SQZDUP", "I9I8I7I6I8I3", uwi},
		{"SQZ with DUP of an ordinate", "A0T", []float64{10, 10}},
		{"negative SQZ", "a0b5@", []float64{-10, -25, 0}},
		{"unknown ordinate", "1 ? 3", []float64{1, math.NaN(), 3}},
		{"decimal SQZ", "A2.5J.5", []float64{12.5, 14}},
		{"exponent then SQZ E", "1E+01E", []float64{10, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.form, func(t *testing.T) {
			d := &lineDecoder{limit: 1000, step: 1, xfactor: 1}
			if err := d.line("0 " + tt.line); err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(d.ys, tt.want, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
				t.Fatalf("%q decodes to %v, want %v", tt.line, d.ys, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	head := func(np int, first, last string) string {
		return "##TITLE= t\n##JCAMP-DX= 4.24\n##XUNITS= 1/CM\n##YUNITS= A\n##XFACTOR= 1\n##YFACTOR= 1\n##FIRSTX= " + first +
			"\n##LASTX= " + last + "\n##NPOINTS= " + strconv.Itoa(np) + "\n##XYDATA=(X++(Y..Y))\n"
	}
	tests := []struct{ name, file, want string }{
		{"Y check differs", head(4, "1", "4") + "1A0JJ\n3A3J\n4A3\n##END=\n",
			"line 12 (##XYDATA): column 2: Y check value 13 differs from the last ordinate of the line before, 12 (a line lost or corrupted?)"},
		{"Y check missing", head(4, "1", "4") + "1A0JJ\n3J\n##END=\n",
			"line 12 (##XYDATA): column 2: the line before ended in DIF form, so this line must begin with a Y check value in SQZ or AFFN form"},
		{"line lost", head(6, "1", "6") + "1A0A1\n5A4A5\n##END=\n",
			"line 12 (##XYDATA): abscissa check: the line starts at X = 5 (× XFACTOR = 5), but its first ordinate is point 3, at 3 by ##FIRSTX, ##LASTX and ##NPOINTS (a data line lost, or a wrong header?)"},
		{"too few points", head(5, "1", "5") + "1 1 2 3\n##END=\n",
			"line 10 (##XYDATA): ##NPOINTS=5 but the table holds 3 ordinates"},
		{"too many points", head(2, "1", "2") + "1 1 2 3\n##END=\n",
			"line 11 (##XYDATA): more ordinates than ##NPOINTS (2)"},
		{"DUP past NPOINTS", head(3, "1", "3") + "1A0Z999\n##END=\n",
			"line 11 (##XYDATA): column 4: more ordinates than ##NPOINTS (3)"},
		{"bad character", head(2, "1", "2") + "1 1 x\n##END=\n",
			`line 11 (##XYDATA): column 5: 'x' is neither a digit, a sign, a separator nor an ASDF pseudo-digit`},
		{"DUP first", head(2, "1", "2") + "1 T\n##END=\n",
			"line 11 (##XYDATA): column 3: a DUP count with nothing before it on the line to repeat"},
		{"no abscissa", head(2, "1", "2") + "J1 2\n##END=\n",
			"line 11 (##XYDATA): column 1: a data line must begin with its abscissa (X) in AFFN or SQZ form"},
		{"no NPOINTS", "##TITLE= t\n##FIRSTX= 1\n##LASTX= 2\n##XYDATA=(X++(Y..Y))\n1 1 2\n##END=\n",
			`line 4 (##XYDATA): the block "t" (line 1) has no ##NPOINTS, which ##XYDATA=(X++(Y..Y)) needs`},
		{"bad FIRSTX", strings.Replace(head(1, "one", "1"), "", "", 1) + "1 1\n##END=\n",
			`line 10 (##XYDATA): ##FIRSTX=one in the block "t" (line 1) is not a number`},
		{"XY pairs", "##TITLE= t\n##NPOINTS= 2\n##XYPOINTS=(XY..XY)\n1,2 3,4\n##END=\n",
			`line 3 (##XYPOINTS): the block "t" holds a ##XYPOINTS, which is not read: only spectra as ##XYDATA=(X++(Y..Y)) are (export the spectrum as XYDATA)`},
		{"other table form", "##TITLE= t\n##NPOINTS= 2\n##FIRSTX= 1\n##LASTX= 2\n##XYDATA=(X++(R..R))\n1 1 2\n##END=\n",
			`line 5 (##XYDATA): table form "(X++(R..R))": only (X++(Y..Y)) is read`},
		{"no END", "##TITLE= t\n##NPOINTS= 1\n", `line 1 (##TITLE): the block "t" has no ##END`},
		{"END alone", "##END=\n", "line 1 (##END): ##END with no block open (no ##TITLE before it)"},
		{"record before TITLE", "##JCAMP-DX= 5.01\n##TITLE= t\n##END=\n", "line 1 (##JCAMP-DX): a labelled data record before the first ##TITLE"},
		{"not JCAMP", "w1,w2\n1,2\n", "line 1: text before the first labelled data record: not a JCAMP-DX file?"},
		{"no spectrum", "##TITLE= t\n##END=\n", "no spectrum (no block with ##XYDATA=(X++(Y..Y)))"},
		{"blocks miscounted", "##TITLE= l\n##DATA TYPE= LINK\n##BLOCKS= 2\n" + head(1, "1", "1") + "1 5\n##END=\n##END=\n",
			`line 1 (##BLOCKS): the LINK block "l" announces 2 blocks but holds 1 (ending at line 16)`},
		{"label without =", "##TITLE t\n", "line 1 (##TITLE t): a label without '='"},
		{"NPOINTS not a count", head(1, "1", "1")[:0] + strings.Replace(head(1, "1", "1"), "##NPOINTS= 1", "##NPOINTS= 2.5", 1) + "1 5\n##END=\n",
			"line 10 (##XYDATA): ##NPOINTS=2.5 is not a count between 1 and 16777216"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.file))
			if err == nil {
				t.Fatalf("no error")
			}
			var je *Error
			if !errors.As(err, &je) {
				t.Errorf("error %T, want *jcamp.Error", err)
			}
			if err.Error() != tt.want {
				t.Fatalf("error\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
	// The hand-made files that must fail.
	for file, want := range map[string]string{
		"peaktable.jdx": `line 9 (##PEAK TABLE): the block "a peak table, which is not read" holds a ##PEAK TABLE, which is not read`,
		"badcheck.jdx":  "line 15 (##XYDATA): column 2: Y check value 2004 differs from the last ordinate of the line before, 2003",
	} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "jcamp", file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(bytes.NewReader(b)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: error %v, want one starting %q", file, err, want)
		}
	}
}

// TestLabels checks label normalisation, comments and continued values.
func TestLabels(t *testing.T) {
	file := "\ufeff##TITLE= a long title $$ a comment\n  continued here\n##Data_Type= NIR\n##$Instrument Serial= 42\n" +
		"##XUNITS= NM\n##YUNITS= A\n##FIRST X= 1\n##LAST-X= 2\n##N POINTS= 2\n##XY DATA= (X++(Y..Y))\n1 5 6 $$ data\n##END=\n"
	s, err := Decode(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if got := s[0]; got.Title != "a long title" || got.DataType != "NIR" || got.Labels["$INSTRUMENTSERIAL"] != "42" || !slices.Equal(got.Y, []float64{5, 6}) {
		t.Fatalf("decoded %+v", got)
	}
	if x := s[0].X(1); x != 2 {
		t.Errorf("X(1) = %v, want 2", x)
	}
}

// encode writes ys as an (X++(Y..Y)) table in one of the forms, n
// ordinates a line, with the Y check after each line that ends in DIF
// form: an encoder independent of the decoder, for round trips.
func encode(ys []int, form string, n int) string {
	sqz := func(v int, digits string) string {
		s := strconv.Itoa(abs(v))
		d := s[0] - '0'
		if v < 0 {
			return string(digits[10+d-1]) + s[1:]
		}
		return string(digits[d]) + s[1:]
	}
	const sqzD = "@ABCDEFGHIabcdefghi"
	const difD = "%JKLMNOPQRjklmnopqr"
	const dupD = "?STUVWXYZs"
	dupOf := func(k int) string { s := strconv.Itoa(k); return string(dupD[s[0]-'0']) + s[1:] }
	var b strings.Builder
	dif := false
	for start := 0; start < len(ys); start += n {
		end := min(start+n, len(ys))
		first := start
		if dif {
			first-- // the Y check repeats the last ordinate
		}
		fmt.Fprintf(&b, "%d", first+1)
		dif = false
		var prev string
		run := 0
		flush := func() {
			if run == 0 {
				return
			}
			b.WriteString(prev)
			if run > 1 {
				b.WriteString(dupOf(run))
			}
			run = 0
		}
		for i := first; i < end; i++ {
			var tok string
			switch {
			case form == "AFFN":
				tok = " " + strconv.Itoa(ys[i])
			case form == "PAC":
				tok = fmt.Sprintf("%+d", ys[i])
			case form == "SQZ" || i == first:
				tok = sqz(ys[i], sqzD)
			default: // DIF, DIFDUP
				tok = sqz(ys[i]-ys[i-1], difD)
			}
			if form == "DIFDUP" && tok == prev {
				run++
				continue
			}
			flush()
			prev, run = tok, 1
			dif = i != first && (form == "DIF" || form == "DIFDUP")
		}
		flush()
		b.WriteByte('\n')
	}
	if dif {
		fmt.Fprintf(&b, "%d%s\n", len(ys), sqz(ys[len(ys)-1], sqzD))
	}
	return b.String()
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func wrap(table string, n int) string {
	return fmt.Sprintf("##TITLE= round trip\n##JCAMP-DX= 5.01\n##DATA TYPE= INFRARED SPECTRUM\n##XUNITS= 1/CM\n##YUNITS= A\n"+
		"##XFACTOR= 1\n##YFACTOR= 1\n##FIRSTX= 1\n##LASTX= %d\n##NPOINTS= %d\n##XYDATA=(X++(Y..Y))\n%s##END=\n", n, n, table)
}

// TestRoundTrip encodes random spectra in every form and decodes them.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 2 + r.IntN(60)
		ys := make([]int, n)
		for i := range ys {
			switch r.IntN(3) {
			case 0:
				ys[i] = r.IntN(200000) - 100000
			case 1:
				if i > 0 {
					ys[i] = ys[i-1]
				}
			default:
				if i > 0 {
					ys[i] = ys[i-1] + r.IntN(21) - 10
				}
			}
		}
		for _, form := range []string{"AFFN", "PAC", "SQZ", "DIF", "DIFDUP"} {
			table := encode(ys, form, 1+r.IntN(12))
			s, err := Decode(strings.NewReader(wrap(table, n)))
			if err != nil {
				t.Fatalf("trial %d, %s: %v\n%s", trial, form, err, table)
			}
			for i, v := range ys {
				if s[0].Y[i] != float64(v) {
					t.Fatalf("trial %d, %s: y[%d] = %v, want %d\n%v\n%s", trial, form, i, s[0].Y[i], v, ys, table)
				}
			}
		}
	}
}

// FuzzDecode feeds the decoder arbitrary text: it must return spectra of
// ##NPOINTS ordinates or an error, never panic or run away.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "jcamp", "*.jdx"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(wrap(encode([]int{5, 5, 5, 7, -3, -3, 0}, "DIFDUP", 3), 7)))
	f.Fuzz(func(t *testing.T, b []byte) {
		ss, err := Decode(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, s := range ss {
			np, perr := strconv.ParseFloat(s.Labels["NPOINTS"], 64)
			if perr != nil || int(np) != len(s.Y) {
				t.Fatalf("spectrum %q: %d ordinates, ##NPOINTS=%q", s.Title, len(s.Y), s.Labels["NPOINTS"])
			}
			for _, v := range s.Y {
				if math.IsInf(v, 0) {
					t.Fatalf("spectrum %q: infinite ordinate", s.Title)
				}
			}
		}
	})
}

// FuzzRoundTrip encodes fuzzed ordinates in every form and decodes them.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{1, 2, 3, 3, 3, 200, 0, 0}, uint8(3))
	f.Fuzz(func(t *testing.T, raw []byte, per uint8) {
		if len(raw) < 2 {
			return
		}
		ys := make([]int, len(raw)/2)
		for i := range ys {
			ys[i] = int(int16(uint16(raw[2*i])<<8 | uint16(raw[2*i+1])))
		}
		if len(ys) < 2 {
			return
		}
		for _, form := range []string{"AFFN", "PAC", "SQZ", "DIF", "DIFDUP"} {
			table := encode(ys, form, 1+int(per%16))
			s, err := Decode(strings.NewReader(wrap(table, len(ys))))
			if err != nil {
				t.Fatalf("%s: %v\n%s", form, err, table)
			}
			for i, v := range ys {
				if s[0].Y[i] != float64(v) {
					t.Fatalf("%s: y[%d] = %v, want %d\n%s", form, i, s[0].Y[i], v, table)
				}
			}
		}
	})
}

// BenchmarkDecode decodes a 700-point NIR spectrum (the corn data's size)
// in DIFDUP form, ten ordinates a line.
func BenchmarkDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	ys := make([]int, 700)
	for i := range ys {
		ys[i] = 40000 + int(3000*math.Sin(float64(i)/40)) + r.IntN(20)
	}
	file := []byte(wrap(encode(ys, "DIFDUP", 10), len(ys)))
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(file)); err != nil {
			b.Fatal(err)
		}
	}
}
