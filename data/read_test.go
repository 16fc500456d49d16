package data

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// files builds an in-memory fs.FS from name → contents pairs.
func files(kv ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return m
}

// twoFileSpec is a spectrum file "x.csv" and responses "y.csv".
var twoFileSpec = Spec{
	Modalities:   []ModalitySpec{{Name: "x", File: "d/x.csv", Kind: Signal}},
	ResponseFile: "d/y.csv",
}

const goodY = "fat,water\n1,2\n3,4\n5,6\n"

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		spec Spec
		want string // the whole message, or "…" + a substring
	}{
		{"unparsable value",
			files("d/x.csv", "w1,w2,w3\n1,2,3\n4,abc,6\n7,8,9\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv line 3 column 2 (w2): cannot parse "abc" as a number`},
		{"ragged row, short",
			files("d/x.csv", "w1,w2,w3\n1,2,3\n4,5\n7,8,9\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv line 3: 2 fields, want 3 as in the header`},
		{"ragged row, long",
			files("d/x.csv", "w1,w2,w3\n1,2,3\n4,5,6\n7,8,9,10\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv line 4: 4 fields, want 3 as in the header (decimal commas in a comma-separated file? set delimiter: ";" or quote the numbers)`},
		{"row counts differ",
			files("d/x.csv", "w1,w2\n1,2\n3,4\n", "d/y.csv", goodY), twoFileSpec,
			`d/y.csv has 3 data rows but d/x.csv has 2; the files must be row-aligned (or have sample ID columns to join them by)`},
		{"empty file",
			files("d/x.csv", "", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv: empty file: want a header line of column names`},
		{"header only",
			files("d/x.csv", "w1,w2\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv: no data rows after the header`},
		{"no header",
			files("d/x.csv", "1,2\n3,4\n5,6\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv line 1: the first line holds numbers, not column names: want one header line`},
		{"duplicate column name",
			files("d/x.csv", "w1,w2,w1\n1,2,3\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv line 1 column 3 (w1): column name repeats column 1`},
		{"empty column name",
			files("d/x.csv", "w1,,w3\n1,2,3\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv line 1 column 2: empty column name in the header`},
		{"partly missing modality row",
			files("d/x.csv", "w1,w2,w3\n1,2,3\n4,NaN,6\n7,8,9\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv line 3 column 2 (w2): missing value (empty, NA or NaN); a modality must be wholly present or wholly missing in a row`},
		{"infinite value",
			files("d/x.csv", "w1\n1\nInf\n3\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv line 3 column 1 (w1): "Inf" is not a finite number`},
		{"out of float32 range",
			files("d/x.csv", "w1\n1\n1e39\n3\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv line 3 column 1 (w1): "1e39" is out of the float32 range`},
		{"bare quote",
			files("d/x.csv", "w1\n1\n2\"x\n3\n", "d/y.csv", goodY), twoFileSpec,
			`modality "x": d/x.csv line 3: bare " in non-quoted-field (at character 2 of the line)`},
		{"missing file",
			files("d/y.csv", goodY), twoFileSpec,
			`…open d/x.csv: file does not exist`},
		{"unknown response column",
			files("d/x.csv", "w1\n1\n2\n3\n", "d/y.csv", goodY),
			Spec{Modalities: twoFileSpec.Modalities, ResponseFile: "d/y.csv", Responses: []string{"protein"}},
			`responses: d/y.csv: no column "protein"; the columns are fat, water`},
		{"unknown column, long header",
			files("d/x.csv", "a,b,c,d,e,f,g,h,i,j\n1,2,3,4,5,6,7,8,9,10\n", "d/y.csv", "fat\n1\n"),
			Spec{Modalities: []ModalitySpec{{Name: "x", File: "d/x.csv", Columns: []string{"z"}}}, ResponseFile: "d/y.csv"},
			`modality "x": d/x.csv: no column "z"; the columns are a, b, c, d, e, f, …, j (10 names)`},
		{"column requested twice",
			files("d/x.csv", "w1,w2\n1,2\n", "d/y.csv", "fat\n1\n"),
			Spec{Modalities: []ModalitySpec{{Name: "x", File: "d/x.csv", Columns: []string{"w2", "w2"}}}, ResponseFile: "d/y.csv"},
			`modality "x": d/x.csv: column "w2" requested twice`},
		{"shape does not fit",
			files("d/x.csv", "w1,w2,w3\n1,2,3\n", "d/y.csv", "fat\n1\n"),
			Spec{Modalities: []ModalitySpec{{Name: "x", File: "d/x.csv", Kind: Signal, Shape: []int{2, 2}}}, ResponseFile: "d/y.csv"},
			`modality "x": shape [2 2] holds 4 values per sample but d/x.csv gives 3 columns`},
		{"image without shape",
			files(), Spec{Modalities: []ModalitySpec{{Name: "img", File: "i.csv", Kind: Image}}},
			`data spec: modality "img" of kind image needs a shape [C, H, W]`},
		{"shape of wrong rank",
			files(), Spec{Modalities: []ModalitySpec{{Name: "s", File: "s.csv", Kind: Sequence, Shape: []int{10}}}},
			`data spec: modality "s": kind sequence needs a shape of 2 dimensions ([T, F]), got [10]`},
		{"no modalities", files(), Spec{ResponseFile: "y.csv"}, `data spec: no modalities`},
		{"duplicate modality",
			files(), Spec{Modalities: []ModalitySpec{{Name: "a", File: "a.csv"}, {Name: "a", File: "b.csv"}}},
			`data spec: two modalities are named "a"`},
		{"modality without file",
			files(), Spec{Modalities: []ModalitySpec{{Name: "a"}}},
			`data spec: modality "a" has no file (or jcamp files)`},
		{"responses without file",
			files(), Spec{Modalities: []ModalitySpec{{Name: "a", File: "a.csv"}}, Responses: []string{"y"}},
			`data spec: response columns named but no response file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := Read(tt.fsys, tt.spec)
			if err == nil {
				t.Fatalf("no error; read %d samples", ds.Len())
			}
			if sub, ok := strings.CutPrefix(tt.want, "…"); ok {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error\n  %s\ndoes not contain\n  %s", err, sub)
				}
			} else if err.Error() != tt.want {
				t.Errorf("error\n  %s\nwant\n  %s", err, tt.want)
			}
		})
	}
}

func TestReadFormatErrorFields(t *testing.T) {
	fsys := files("d/x.csv", "a,b\n1,2\n3,x\n", "d/y.csv", "y\n1\n2\n")
	_, err := Read(fsys, twoFileSpec)
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FormatError", err)
	}
	if fe.File != "d/x.csv" || fe.Line != 3 || fe.Column != 2 || fe.Header != "b" {
		t.Errorf("FormatError %+v, want d/x.csv line 3 column 2 (b)", *fe)
	}
}

func TestReadMissingRows(t *testing.T) {
	fsys := files(
		"x.csv", "a,b\n1,2\nNaN,nan\n5,6\n,\n",
		"v.csv", "c\n1\n2\n3\n4\n",
		"y.csv", "u,w\n10,20\n30,40\n50,60\n70,80\n",
	)
	ds, err := Read(fsys, Spec{
		Modalities: []ModalitySpec{
			{Name: "x", File: "x.csv"},
			{Name: "v", File: "v.csv"},
			{Name: "w", File: "y.csv", Columns: []string{"w"}}, // a response as an input
		},
		ResponseFile: "y.csv",
		Responses:    []string{"u"},
	})
	if err != nil {
		t.Fatal(err)
	}
	x := ds.Modality("x")
	if want := []bool{true, false, true, false}; !slices.Equal(x.Present, want) {
		t.Errorf("x.Present = %v, want %v", x.Present, want)
	}
	if want := []float32{1, 2, 0, 0, 5, 6, 0, 0}; !slices.Equal(x.Data, want) {
		t.Errorf("x.Data = %v, want %v", x.Data, want)
	}
	if v := ds.Modality("v"); v.Present != nil {
		t.Errorf("v.Present = %v, want nil (all present)", v.Present)
	}
	if w := ds.Modality("w"); !slices.Equal(w.Data, []float32{20, 40, 60, 80}) || !slices.Equal(w.Shape, []int{1}) {
		t.Errorf("w = %v shape %v", w.Data, w.Shape)
	}
	if !slices.Equal(ds.Y, []float32{10, 30, 50, 70}) || !slices.Equal(ds.ResponseNames, []string{"u"}) {
		t.Errorf("Y = %v %v", ds.ResponseNames, ds.Y)
	}
}

func TestReadTolerates(t *testing.T) {
	// A byte-order mark, spaces around values, CRLF line ends, quoted
	// fields and a file without a final newline are all accepted.
	fsys := files("x.csv", "\ufeff a , b\r\n 1 ,\"2\"\r\n3,4e-1", "y.csv", "y\n1\n2")
	ds, err := Read(fsys, Spec{Modalities: []ModalitySpec{{Name: "x", File: "x.csv"}}, ResponseFile: "y.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, 2, 3, 0.4}; !slices.Equal(ds.Modalities[0].Data, want) {
		t.Errorf("data %v, want %v", ds.Modalities[0].Data, want)
	}
	if ds.Len() != 2 {
		t.Errorf("Len %d, want 2", ds.Len())
	}
}

func TestReadWithoutResponses(t *testing.T) {
	ds, err := Read(files("x.csv", "a\n1\n2\n"), Spec{Modalities: []ModalitySpec{{Name: "x", File: "x.csv"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 2 || ds.NumResponses() != 0 || ds.Y != nil {
		t.Errorf("Len %d, %d responses, Y %v", ds.Len(), ds.NumResponses(), ds.Y)
	}
}

func TestReadSplit(t *testing.T) {
	tests := []struct {
		name        string
		file        string
		train, test []int
		err         string
	}{
		{"ok", "id,split\n1,train\n2,TEST\n3,train\n", []int{0, 2}, []int{1}, ""},
		{"bad label", "id,split\n1,train\n2,val\n", nil, nil, `s.csv line 3 column 2 (split): split label "val": want train or test`},
		{"no column", "id,set\n1,train\n", nil, nil, `s.csv: no column "split"; the columns are id, set`},
		{"ragged", "id,split\n1\n", nil, nil, `s.csv line 2: 1 fields, want 2 as in the header`},
		{"no rows", "id,split\n", nil, nil, `s.csv: no data rows after the header`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			train, test, err := ReadSplit(files("s.csv", tt.file), "s.csv", "split")
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(train, tt.train) || !slices.Equal(test, tt.test) {
				t.Errorf("train %v test %v, want %v %v", train, test, tt.train, tt.test)
			}
		})
	}
}

func TestListNames(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, "none"},
		{[]string{"a"}, "a"},
		{strings.Split("a b c d e f g h", " "), "a, b, c, d, e, f, g, h"},
		{strings.Split("a b c d e f g h i", " "), "a, b, c, d, e, f, …, i (9 names)"},
	}
	for _, tt := range tests {
		if got := listNames(tt.in); got != tt.want {
			t.Errorf("listNames(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzRead feeds arbitrary bytes to the reader as a modality file and as a
// response file. It must never panic, and whatever it accepts must be a
// valid dataset.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n3,4\n",
		"a,b\n1,2\nNaN,\n",
		"a\n\"1\"\n",
		"\ufeffa,b\r\n1,2\r\n",
		"a,a\n1,2\n",
		"1,2\n",
		"a,b\n1\n",
		"a\n1e39\n-0\n",
		"id;a;b\nS1;1,5;2\nS2;NA;NA\nS1;3;4\n",
		"a b\n1 2\n",
		"",
	} {
		f.Add([]byte(s), []byte("y\n1\n2\n"))
	}
	f.Fuzz(func(t *testing.T, x, y []byte) {
		fsys := fstest.MapFS{"x.csv": {Data: x}, "y.csv": {Data: y}}
		specs := []Spec{
			{Modalities: []ModalitySpec{{Name: "x", File: "x.csv", Kind: Signal}}, ResponseFile: "y.csv"},
			{Modalities: []ModalitySpec{{Name: "x", File: "x.csv", Columns: []string{"a"}}}, ResponseFile: "x.csv", Responses: []string{"b"}},
			{Modalities: []ModalitySpec{{Name: "x", File: "x.csv"}}, ResponseFile: "y.csv", Replicates: "mean", Rows: []int{0}},
			{Modalities: []ModalitySpec{{Name: "x", File: "x.csv", Columns: []string{"a"}}}, ResponseFile: "y.csv",
				Split: &SplitSource{File: "x.csv", Column: "b"}, Format: Format{Delimiter: "whitespace"}},
		}
		for _, spec := range specs {
			ds, err := Read(fsys, spec)
			if err != nil {
				continue
			}
			if err := ds.Validate(); err != nil {
				t.Fatalf("Read returned an invalid dataset: %v", err)
			}
			if ds.Len() == 0 {
				t.Fatal("Read returned an empty dataset")
			}
			if spec.Split != nil && len(ds.Roles) != ds.Len() {
				t.Fatalf("a split of %d roles for %d samples", len(ds.Roles), ds.Len())
			}
		}
	})
}
