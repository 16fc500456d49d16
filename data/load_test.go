package data

import (
	"bytes"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// nan is a missing response in the expected values.
var nan = float32(math.NaN())

func sameF32(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return x == y || x != x && y != y })
}

// TestLoadFormats reads the same small dataset written in every format a
// user's files come in: IDs, semicolons and decimal commas, tabs,
// whitespace, other orders of the rows. Each must give the same dataset.
func TestLoadFormats(t *testing.T) {
	wantX := []float32{1.5, 2, 3.25, 4, 5, 6.5}
	wantY := []float32{10.5, 20, 30}
	tests := []struct {
		name    string
		x, y    string
		format  Format
		ids     []string
		files   []FileInfo // the formats reported, in part
		comment string
	}{
		{name: "plain, no IDs", x: "a,b\n1.5,2\n3.25,4\n5,6.5\n", y: "p\n10.5\n20\n30\n",
			files: []FileInfo{{Delimiter: ",", Decimal: "."}, {Delimiter: ";", Decimal: "."}}},
		{name: "sample IDs, responses in another order", x: "sample,a,b\nS0,1.5,2\nS1,3.25,4\nS2,5,6.5\n", y: "sample,p\nS2,30\nS0,10.5\nS1,20\n",
			ids: []string{"S0", "S1", "S2"}, files: []FileInfo{{IDColumn: "sample", Detected: []string{"delimiter", "decimal", "id_column"}}}},
		{name: "numeric IDs under an id header", x: "ID,a,b\n7,1.5,2\n8,3.25,4\n9,5,6.5\n", y: "id,p\n9,30\n8,20\n7,10.5\n",
			ids: []string{"7", "8", "9"}},
		{name: "IDs in a named column", x: "a,b,code\n1.5,2,x1\n3.25,4,x2\n5,6.5,x3\n", y: "p,code\n10.5,x1\n20,x2\n30,x3\n",
			format: Format{IDColumn: "code"}, ids: []string{"x1", "x2", "x3"}},
		{name: "semicolons and decimal commas", x: "sample;a;b\nS0;1,5;2\nS1;3,25;4\nS2;5;6,5\n", y: "sample;p\nS0;10,5\nS1;20\nS2;30\n",
			ids: []string{"S0", "S1", "S2"}, files: []FileInfo{{Delimiter: ";", Decimal: ","}, {Delimiter: ";", Decimal: ","}}},
		{name: "semicolons, decimal commas, set", x: "a;b\n1,5;2\n3,25;4\n5;6,5\n", y: "p\n10,5\n20\n30\n",
			format: Format{Delimiter: ";", Decimal: ","}, files: []FileInfo{{Delimiter: ";", Decimal: ",", Detected: nil}}},
		{name: "tabs", x: "a\tb\n1.5\t2\n3.25\t4\n5\t6.5\n", y: "p\n10.5\n20\n30\n",
			files: []FileInfo{{Delimiter: "tab"}}},
		{name: "whitespace", x: "  a     b\n 1.5   2\n3.25   4\n   5 6.5\n", y: "p\n10.5\n20\n30\n",
			files: []FileInfo{{Delimiter: "whitespace"}}},
		{name: "quoted decimal commas in a comma file", x: "a,b\n\"1,5\",2\n\"3,25\",4\n5,\"6,5\"\n", y: "p\n\"10,5\"\n20\n30\n",
			format: Format{Decimal: ","}},
		{name: "CRLF and a byte-order mark", x: "\ufeffsample;a;b\r\nS0;1,5;2\r\nS1;3,25;4\r\nS2;5;6,5\r\n", y: "sample;p\r\nS1;20\r\nS0;10,5\r\nS2;30\r\n",
			ids: []string{"S0", "S1", "S2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := Spec{Modalities: []ModalitySpec{{Name: "x", File: "x.csv"}}, ResponseFile: "y.csv", Format: tt.format}
			ds, rep, err := Load(files("x.csv", tt.x, "y.csv", tt.y), spec)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ds.Modalities[0].Data, wantX) || !slices.Equal(ds.Y, wantY) || !slices.Equal(ds.IDs, tt.ids) {
				t.Fatalf("x %v, y %v, ids %v; want %v, %v, %v", ds.Modalities[0].Data, ds.Y, ds.IDs, wantX, wantY, tt.ids)
			}
			if rep.ByID != (tt.ids != nil) || rep.Samples != 3 {
				t.Errorf("report: by ID %v, %d samples", rep.ByID, rep.Samples)
			}
			for i, w := range tt.files {
				g := rep.Files[i]
				if (w.Delimiter != "" && g.Delimiter != w.Delimiter) || (w.Decimal != "" && g.Decimal != w.Decimal) ||
					(w.IDColumn != "" && g.IDColumn != w.IDColumn) || (w.Detected != nil && !slices.Equal(g.Detected, w.Detected)) {
					t.Errorf("file %d read as %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// TestLoadMissingResponses: a missing response (empty, NA, NaN, ?) is NaN,
// counted and noted with its file and line; data.rows applies first.
func TestLoadMissingResponses(t *testing.T) {
	x := "id,a\nS1,1\nS2,2\nS3,3\nS4,4\nS5,oops\n"
	y := "id,fat,water\nS1,1,\nS2,NA,NA\nS3,?,7\nS4,NaN,8\nS5,,\n"
	spec := Spec{Modalities: []ModalitySpec{{Name: "x", File: "x.csv"}}, ResponseFile: "y.csv", Rows: []int{0, 1, 2, 3}}
	ds, rep, err := Load(files("x.csv", x, "y.csv", y), spec)
	if err != nil {
		t.Fatal(err) // row 5 (unparsable "oops") is not selected, so not read
	}
	if want := []float32{1, nan, nan, nan, nan, 7, nan, 8}; !sameF32(ds.Y, want) {
		t.Fatalf("Y = %v, want %v", ds.Y, want)
	}
	if got := ds.Labelled(); !slices.Equal(got, []int{0, 2, 3}) {
		t.Errorf("Labelled = %v, want [0 2 3]", got)
	}
	if got := ds.MissingResponses(); !slices.Equal(got, []int{3, 2}) {
		t.Errorf("MissingResponses = %v", got)
	}
	if rep.Missing["fat"] != 3 || rep.Missing["water"] != 2 || rep.NoResponse != 1 {
		t.Errorf("report: missing %v, without any %d", rep.Missing, rep.NoResponse)
	}
	if n := rep.Notes[0]; n.File != "y.csv" || n.Line != 2 || n.ID != "S1" || !strings.Contains(n.Msg, "no value of water") {
		t.Errorf("first note %+v", n)
	}
	var buf bytes.Buffer
	rep.Log(slog.New(slog.NewTextHandler(&buf, nil)))
	for _, want := range []string{`msg="no value of fat: the sample is left out for that response" file=y.csv line=3 sample=S2`,
		`msg="samples without any response are left out of training and evaluation" samples=1 of=4`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, buf.String())
		}
	}
	// Without the row selection, row 5 is read, and its error named.
	spec.Rows = nil
	if _, _, err := Load(files("x.csv", x, "y.csv", y), spec); err == nil || err.Error() != `modality "x": x.csv line 6 column 2 (a): cannot parse "oops" as a number` {
		t.Errorf("error %v", err)
	}
}

// TestLoadAbsentRows: a modality row of missing values marks the modality
// absent for that sample, noted with file and line.
func TestLoadAbsentRows(t *testing.T) {
	fsys := files("x.csv", "id;a;b\nS1;1;2\nS2;;\nS3;NaN;nan\n", "v.csv", "id;c\nS3;3\nS2;2\nS1;NA\n", "y.csv", "id;p\nS1;1\nS2;2\nS3;3\n")
	ds, rep, err := Load(fsys, Spec{Modalities: []ModalitySpec{{Name: "x", File: "x.csv"}, {Name: "v", File: "v.csv"}}, ResponseFile: "y.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if x := ds.Modality("x"); !slices.Equal(x.Present, []bool{true, false, false}) || !slices.Equal(x.Data, []float32{1, 2, 0, 0, 0, 0}) {
		t.Errorf("x: %v %v", x.Present, x.Data)
	}
	if v := ds.Modality("v"); !slices.Equal(v.Present, []bool{false, true, true}) || !slices.Equal(v.Data, []float32{0, 2, 3}) {
		t.Errorf("v: %v %v", v.Present, v.Data)
	}
	if rep.Absent["x"] != 2 || rep.Absent["v"] != 1 {
		t.Errorf("absent %v", rep.Absent)
	}
	var buf bytes.Buffer
	rep.Log(slog.New(slog.NewTextHandler(&buf, nil)))
	if want := `msg="no values: the sample lacks modality v" file=v.csv line=4 sample=S1`; !strings.Contains(buf.String(), want) {
		t.Errorf("the log lacks %q:\n%s", want, buf.String())
	}
}

func TestLoadJoinErrors(t *testing.T) {
	x := "sample,a\nS1,1\nS2,2\nS3,3\n"
	tests := []struct {
		name string
		x, y string
		spec func(*Spec)
		want string
	}{
		{"a sample missing from the responses", x, "sample,p\nS1,1\nS3,3\n", nil,
			`responses: y.csv has no row for sample "S2" (x.csv line 3); a row with empty values (or NA) marks its responses missing, as does missing_rows: absent for every missing row`},
		{"an unknown sample", x, "sample,p\nS1,1\nS2,2\nS3,3\nS33,4\n", nil,
			`responses: y.csv line 5 column 1 (sample): sample "S33" is not in x.csv, whose rows list the samples (a typo in the ID, or a row to add there?)`},
		{"a repeated sample", "sample,a\nS1,1\nS2,2\nS1,3\n", "sample,p\nS1,1\nS2,2\n", nil,
			`modality "x": x.csv line 4 column 1 (sample): sample "S1" repeats line 2; set replicates: mean to average replicate scans, or give each row its own ID`},
		{"a repeated response", x, "sample,p\nS1,1\nS2,2\nS3,3\nS2,5\n", nil,
			`responses: y.csv line 5 column 1 (sample): sample "S2" repeats line 3; set replicates: mean to average replicate scans, or give each row its own ID`},
		{"responses without IDs", x, "p\n1\n2\n3\n", nil,
			`responses: y.csv has no sample ID column, but x.csv has one (column "sample"): the files are joined by sample ID, so each needs one; name it with id_column`},
		{"an empty ID", "sample,a\nS1,1\n,2\n", "sample,p\nS1,1\n", nil, `modality "x": x.csv line 3 column 1 (sample): empty sample ID`},
		{"a named ID column that is not there", x, "sample,p\nS1,1\n", func(s *Spec) { s.Format.IDColumn = "code" },
			`modality "x": x.csv: no ID column "code" (id_column); the columns are sample, a`},
		{"IDs with row selection past the end", x, "sample,p\nS1,1\n", func(s *Spec) { s.Rows = []int{0, 5} },
			`the row selection (rows) names row 6, past the 3 data rows of x.csv`},
		{"ambiguous delimiter", "a,b;c\n1,2;3\n", "p\n1\n", nil,
			`modality "x": x.csv: cannot tell the delimiter: , and ; each split the header and the first 1 lines into the same number of fields; set delimiter (",", ";", "tab" or "whitespace") in the data section, or for this file`},
		{"ambiguous decimal", "a;b\n1.5;2,5\n", "p\n1\n", nil,
			`modality "x": x.csv: cannot tell the decimal separator: the first lines hold both "1.5" and "2,5"; set decimal ("." or ",") in the data section, or for this file`},
		{"a decimal comma, set to dot", "a;b\n1;2\n3;4,5\n", "p\n1\n2\n", func(s *Spec) { s.Format.Decimal = "." },
			`modality "x": x.csv line 3 column 2 (b): cannot parse "4,5" as a number (a decimal comma? set decimal: ",")`},
		{"IDs in the first column, not detected", "code,a\n1,1\nS2,2\n", "p\n1\n2\n", nil,
			`modality "x": x.csv line 3 column 1 (code): cannot parse "S2" as a number (if column 1 holds sample IDs, set id_column: code)`},
		{"replicates without IDs", "a\n1\n2\n", "p\n1\n2\n", func(s *Spec) { s.Replicates = "mean" },
			`replicates: mean needs sample IDs, to know which rows are replicates; give the files an ID column (id_column)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := Spec{Modalities: []ModalitySpec{{Name: "x", File: "x.csv"}}, ResponseFile: "y.csv"}
			if tt.spec != nil {
				tt.spec(&spec)
			}
			_, _, err := Load(files("x.csv", tt.x, "y.csv", tt.y), spec)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error\n  %v\nwant\n  %s", err, tt.want)
			}
		})
	}
}

// TestLoadMissingRowsAbsent: with missing_rows: absent, a sample without a row
// in a modality's file (or a spectrum in a JCAMP-DX folder) lacks that
// modality, and one without a row in the response file its responses.
func TestLoadMissingRowsAbsent(t *testing.T) {
	one := func(title string) string {
		return "##TITLE= " + title + "\n##XUNITS= NM\n##YUNITS= A\n##FIRSTX= 1\n##LASTX= 2\n##NPOINTS= 2\n##XYDATA=(X++(Y..Y))\n1 5 6\n##END=\n"
	}
	fsys := files(
		"a.csv", "id;w\nS1;1\nS2;2\nS3;3\n",
		"b/S1.jdx", one("S1"), "b/S3.jdx", one("S3"),
		"y.csv", "id;p\nS3;30\nS1;10\n",
	)
	spec := Spec{Modalities: []ModalitySpec{{Name: "a", File: "a.csv"}, {Name: "b", JCAMP: []string{"b"}}}, ResponseFile: "y.csv"}
	if _, err := Read(fsys, spec); err == nil || !strings.Contains(err.Error(), `b/S1.jdx … b/S3.jdx (2 JCAMP-DX files) has no row for sample "S2" (a.csv line 3)`) {
		t.Fatalf("error %v", err)
	}
	spec.MissingRows = "absent"
	ds, rep, err := Load(fsys, spec)
	if err != nil {
		t.Fatal(err)
	}
	if b := ds.Modality("b"); !slices.Equal(b.Present, []bool{true, false, true}) || !sameF32(ds.Y, []float32{10, nan, 30}) {
		t.Fatalf("b present %v, y %v", b.Present, ds.Y)
	}
	if rep.Absent["b"] != 1 || rep.Missing["p"] != 1 || rep.NoResponse != 1 {
		t.Errorf("report %+v", rep)
	}
	var buf bytes.Buffer
	rep.Log(slog.New(slog.NewTextHandler(&buf, nil)))
	for _, want := range []string{`msg="no row: the sample lacks modality b" file="b/S1.jdx … b/S3.jdx (2 JCAMP-DX files)" sample=S2`,
		`msg="no row: the sample is left out for p" file=y.csv sample=S2`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, buf.String())
		}
	}
}

// TestLoadRowsWithIDs: data.rows selects rows of the first file; the
// other files may hold the other samples, which are then skipped.
func TestLoadRowsWithIDs(t *testing.T) {
	fsys := files("x.csv", "id,a\nS1,1\nS2,2\nS3,3\nS4,bad\n", "y.csv", "id,p\nS4,x\nS3,30\nS2,20\nS1,10\n")
	ds, err := Read(fsys, Spec{Modalities: []ModalitySpec{{Name: "x", File: "x.csv"}}, ResponseFile: "y.csv", Rows: []int{2, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.IDs, []string{"S3", "S1"}) || !slices.Equal(ds.Y, []float32{30, 10}) || !slices.Equal(ds.Modalities[0].Data, []float32{3, 1}) {
		t.Fatalf("ids %v y %v x %v", ds.IDs, ds.Y, ds.Modalities[0].Data)
	}
}

func TestLoadReplicates(t *testing.T) {
	fsys := files(
		"x.csv", "id,a,b\nS1,1,2\nS2,10,20\nS1,3,4\nS1,,\nS2,12,22\nS3,5,5\n",
		"y.csv", "id,p,q\nS1,1,\nS1,3,\nS2,5,6\nS3,,\nS3,7,8\n",
	)
	spec := Spec{Modalities: []ModalitySpec{{Name: "x", File: "x.csv"}}, ResponseFile: "y.csv", Replicates: "mean"}
	ds, rep, err := Load(fsys, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.IDs, []string{"S1", "S2", "S3"}) {
		t.Fatalf("ids %v", ds.IDs)
	}
	// S1: rows (1,2) and (3,4) averaged; its row of missing values is left out.
	if want := []float32{2, 3, 11, 21, 5, 5}; !slices.Equal(ds.Modalities[0].Data, want) {
		t.Errorf("x %v, want %v", ds.Modalities[0].Data, want)
	}
	if want := []float32{2, nan, 5, 6, 7, 8}; !sameF32(ds.Y, want) {
		t.Errorf("y %v, want %v", ds.Y, want)
	}
	want := []Replicates{{Source: "modality x", Samples: 2, Rows: 5}, {Source: "responses", Samples: 2, Rows: 4}}
	if !slices.Equal(rep.Replicates, want) {
		t.Errorf("replicates %+v, want %+v", rep.Replicates, want)
	}
	var buf bytes.Buffer
	rep.Log(slog.New(slog.NewTextHandler(&buf, nil)))
	if !strings.Contains(buf.String(), `msg="replicates averaged" source="modality x" samples=2 rows=5`) {
		t.Errorf("the log:\n%s", buf.String())
	}
}

func TestLoadSplit(t *testing.T) {
	x := "id;a\nS1;1\nS2;2\nS3;3\nS4;4\n"
	tests := []struct {
		name  string
		y     string
		split *SplitSource
		more  []string // extra files
		roles []Role
		resp  []string
		err   string
	}{
		{name: "a column of the response file", y: "id;p;set\nS1;1;train\nS2;2;Test\nS3;3;validation\nS4;4;calibration\n",
			split: &SplitSource{Column: "set"}, roles: []Role{RoleTrain, RoleTest, RoleVal, RoleTrain}, resp: []string{"p"}},
		{name: "a file of its own, by ID", y: "id;p\nS1;1\nS2;2\nS3;3\nS4;4\n", split: &SplitSource{File: "s.csv", Column: "split"},
			more: []string{"s.csv", "sample,split\nS4,test\nS3,test\nS2,train\nS1,train\n"}, roles: []Role{RoleTrain, RoleTrain, RoleTest, RoleTest}, resp: []string{"p"}},
		{name: "a bad label", y: "id;p;set\nS1;1;train\nS2;2;hold-out\nS3;3;test\nS4;4;test\n", split: &SplitSource{Column: "set"},
			err: `split: y.csv line 3 column 3 (set): split label "hold-out": want train, validation or test`},
		{name: "a missing row", y: "id;p\nS1;1\nS2;2\nS3;3\nS4;4\n", split: &SplitSource{File: "s.csv", Column: "split"},
			more: []string{"s.csv", "sample,split\nS4,test\nS2,train\nS1,train\n"},
			err:  `split: s.csv has no row for sample "S3" (x.csv line 4); every sample needs a split label`},
		{name: "a missing column", y: "id;p\nS1;1\nS2;2\nS3;3\nS4;4\n", split: &SplitSource{Column: "set"},
			err: `split: y.csv: no column "set"; the columns are id, p`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := files(append([]string{"x.csv", x, "y.csv", tt.y}, tt.more...)...)
			ds, err := Read(fsys, Spec{Modalities: []ModalitySpec{{Name: "x", File: "x.csv"}}, ResponseFile: "y.csv", Split: tt.split, MissingRows: "absent"})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ds.Roles, tt.roles) || !slices.Equal(ds.ResponseNames, tt.resp) {
				t.Fatalf("roles %v responses %v, want %v %v", ds.Roles, ds.ResponseNames, tt.roles, tt.resp)
			}
			// The roles follow the samples through a subset.
			if s := ds.Subset([]int{3, 0}); !slices.Equal(s.Roles, []Role{tt.roles[3], tt.roles[0]}) || !slices.Equal(s.IDs, []string{"S4", "S1"}) {
				t.Errorf("subset roles %v ids %v", s.Roles, s.IDs)
			}
		})
	}
}

// TestLoadJCAMP reads a modality from a folder of JCAMP-DX files (one of
// them a LINK file of three spectra) joined with CSV responses by ID.
func TestLoadJCAMP(t *testing.T) {
	one := func(title, first, data string) string {
		r := strings.NewReplacer("{T}", title, "{F}", first, "{D}", data)
		return r.Replace("##TITLE= {T}\n##JCAMP-DX= 5.01\n##DATA TYPE= NEAR INFRARED SPECTRUM\n##XUNITS= NANOMETERS\n##YUNITS= ABSORBANCE\n" +
			"##XFACTOR= 1\n##YFACTOR= 0.001\n##FIRSTX= {F}\n##LASTX= 1106\n##NPOINTS= 4\n##XYDATA=(X++(Y..Y))\n{D}\n##END=\n")
	}
	link := "##TITLE= batch\n##JCAMP-DX= 5.01\n##DATA TYPE= LINK\n##BLOCKS= 2\n" + one("B1", "1100", "1100 1 2 3 4") + one("B2", "1100", "1100A0A1A2A3") + "##END=\n"
	fsys := files(
		"nir/a.jdx", one("A1", "1100", "1100A000J000JJ"),
		"nir/b.dx", link,
		"nir/notes.txt", "not a spectrum",
		"y.csv", "sample;p\nB2;4\nA1;1\nB1;2,5\n",
	)
	ds, rep, err := Load(fsys, Spec{Modalities: []ModalitySpec{{Name: "nir", JCAMP: []string{"nir"}, Kind: Signal}}, ResponseFile: "y.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.IDs, []string{"A1", "B1", "B2"}) || !slices.Equal(ds.Modalities[0].Shape, []int{1, 4}) {
		t.Fatalf("ids %v shape %v", ds.IDs, ds.Modalities[0].Shape)
	}
	want := []float32{1, 2, 2.001, 2.002, 0.001, 0.002, 0.003, 0.004, 0.01, 0.011, 0.012, 0.013}
	for i, v := range ds.Modalities[0].Data {
		if math.Abs(float64(v-want[i])) > 1e-6 {
			t.Fatalf("x %v, want %v", ds.Modalities[0].Data, want)
		}
	}
	if !slices.Equal(ds.Y, []float32{1, 2.5, 4}) || !rep.ByID {
		t.Errorf("y %v, by ID %v", ds.Y, rep.ByID)
	}

	bad := files("nir/a.jdx", one("A1", "1100", "1100 1 2 3 4"), "nir/b.jdx", one("A2", "1102", "1102 1 2 3 4"), "y.csv", "sample,p\nA1,1\nA2,2\n")
	_, err = Read(bad, Spec{Modalities: []ModalitySpec{{Name: "nir", JCAMP: []string{"nir/*.jdx"}}}, ResponseFile: "y.csv"})
	if want := `modality "nir": nir/b.jdx line 1: spectrum "A2": 4 points from 1102 to 1106 nanometers, but nir/a.jdx ("A1") has 4 points from 1100 to 1106 nanometers; every spectrum of a modality must share one X axis (resample them to one)`; err == nil || err.Error() != want {
		t.Errorf("error\n  %v\nwant\n  %s", err, want)
	}
	byFile := files("s/x1.jdx", one("same title", "1100", "1100 1 2 3 4"), "s/x2.jdx", one("same title", "1100", "1100 5 6 7 8"), "y.csv", "id,p\nx2,2\nx1,1\n")
	ds, err = Read(byFile, Spec{Modalities: []ModalitySpec{{Name: "nir", JCAMP: []string{"s/x2.jdx", "s/x1.jdx"}, JCAMPID: "file"}}, ResponseFile: "y.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.IDs, []string{"x2", "x1"}) || !slices.Equal(ds.Y, []float32{2, 1}) {
		t.Errorf("ids %v y %v", ds.IDs, ds.Y)
	}
	_, err = Read(byFile, Spec{Modalities: []ModalitySpec{{Name: "nir", JCAMP: []string{"s"}}}, ResponseFile: "y.csv"})
	if want := `modality "nir": s/x2.jdx line 1: sample "same title" repeats s/x1.jdx line 1; set replicates: mean to average replicate scans, or give each row its own ID`; err == nil || err.Error() != want {
		t.Errorf("error\n  %v\nwant\n  %s", err, want)
	}
}

// TestLoadJCAMPTestdata reads the hand-written LINK file of the JCAMP-DX
// tests as a modality.
func TestLoadJCAMPTestdata(t *testing.T) {
	fsys := os.DirFS("testdata")
	ds, err := Read(merged{fsys, files("y.csv", "sample,protein\nS03,3\nS01,1\nS02,2\n")},
		Spec{Modalities: []ModalitySpec{{Name: "nir", JCAMP: []string{"jcamp/link.jdx"}, Kind: Signal}}, ResponseFile: "y.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.IDs, []string{"S01", "S02", "S03"}) || !slices.Equal(ds.Y, []float32{1, 2, 3}) || ds.Modalities[0].Data[0] != float32(0.4512) {
		t.Errorf("ids %v y %v x0 %v", ds.IDs, ds.Y, ds.Modalities[0].Data[0])
	}
}

// merged is two file systems, the first one first.
type merged struct{ a, b fs.FS }

func (m merged) Open(name string) (fs.File, error) {
	if f, err := m.a.Open(name); err == nil {
		return f, nil
	}
	return m.b.Open(name)
}
