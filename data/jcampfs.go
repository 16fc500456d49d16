package data

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/fdrmfl/fdrmfl/data/jcamp"
)

// jcampExts are the file name extensions of JCAMP-DX files taken from a
// folder.
var jcampExts = []string{".jdx", ".dx", ".jcamp", ".jcm"}

// readJCAMP reads a modality from JCAMP-DX files, one row per spectrum, in
// the order of the files (a folder's files sorted by name) and of the
// spectra in each. Every spectrum must be on the first one's X axis.
func readJCAMP(fsys fs.FS, ms ModalitySpec) (*table, error) {
	files, err := jcampFiles(fsys, ms.JCAMP)
	if err != nil {
		return nil, err
	}
	t := &table{file: files[0], idCol: -1, ids: []string{}}
	if len(files) > 1 {
		t.file = fmt.Sprintf("%s … %s (%d JCAMP-DX files)", files[0], files[len(files)-1], len(files))
	}
	var axis *jcamp.Spectrum
	var axisFile string
	for _, file := range files {
		f, err := fsys.Open(file)
		if err != nil {
			return nil, err
		}
		spectra, err := jcamp.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if ms.JCAMPID == "file" && len(spectra) > 1 {
			return nil, fmt.Errorf("%s holds %d spectra, so the file name cannot name the sample: use jcamp_id: title", file, len(spectra))
		}
		for k := range spectra {
			s := &spectra[k]
			id := s.Title
			if ms.JCAMPID == "file" {
				id = strings.TrimSuffix(path.Base(file), path.Ext(file))
			}
			if id == "" {
				return nil, &FormatError{File: file, Line: s.Line, Err: errors.New("empty ##TITLE, which names the sample; name samples by file with jcamp_id: file")}
			}
			if axis == nil {
				axis, axisFile = s, file
				t.header = make([]string, len(s.Y))
				t.cols = make([]int, len(s.Y))
				for i := range t.header {
					t.header[i] = strconv.FormatFloat(s.X(i), 'g', 8, 64)
					t.cols[i] = i
				}
			} else if !sameAxis(axis, s) {
				return nil, &FormatError{File: file, Line: s.Line,
					Err: fmt.Errorf("spectrum %q: %v, but %s (%q) has %s; every spectrum of a modality must share one X axis (resample them to one)",
						s.Title, describeAxis(s), axisFile, axis.Title, describeAxis(axis))}
			}
			row := t.rows
			t.rows++
			t.ids = append(t.ids, id)
			t.lines = append(t.lines, s.Line)
			t.files = append(t.files, file)
			nan := 0
			for _, v := range s.Y {
				if math.IsNaN(v) {
					nan++
				}
				t.data = append(t.data, float32(v))
			}
			vals := t.data[row*len(s.Y):]
			for i, v := range vals {
				if math.IsInf(float64(v), 0) {
					t.fail(row, &FormatError{File: file, Line: s.Line, Err: fmt.Errorf("spectrum %q: ordinate %d (%g) is out of the float32 range", s.Title, i+1, s.Y[i])})
				}
			}
			switch {
			case nan == len(vals):
				clear(vals)
			case nan > 0:
				t.fail(row, &FormatError{File: file, Line: s.Line, Err: fmt.Errorf("spectrum %q has %d unknown ordinates (?) among %d; a spectrum must be whole, or wholly unknown", s.Title, nan, len(vals))})
				clear(vals)
			}
			t.absent = append(t.absent, nan == len(vals))
		}
	}
	return t, nil
}

// sameAxis reports whether s is on a's X axis: the same number of points
// and units, first and last abscissae within 1 % of a spacing.
func sameAxis(a, s *jcamp.Spectrum) bool {
	if len(a.Y) != len(s.Y) || (a.XUnits != "" && s.XUnits != "" && !strings.EqualFold(a.XUnits, s.XUnits)) {
		return false
	}
	step := 0.0
	if len(a.Y) > 1 {
		step = math.Abs(a.LastX-a.FirstX) / float64(len(a.Y)-1)
	}
	tol := 0.01*step + 1e-9*max(1, math.Abs(a.FirstX), math.Abs(a.LastX))
	return math.Abs(a.FirstX-s.FirstX) <= tol && math.Abs(a.LastX-s.LastX) <= tol
}

func describeAxis(s *jcamp.Spectrum) string {
	return fmt.Sprintf("%d points from %g to %g %s", len(s.Y), s.FirstX, s.LastX, strings.ToLower(s.XUnits))
}

// jcampFiles expands a modality's jcamp list — files, folders and
// patterns — into file names, each once, in order.
func jcampFiles(fsys fs.FS, list []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, entry := range list {
		entry = strings.TrimSuffix(path.Clean(entry), "/")
		if strings.ContainsAny(entry, "*?[") {
			matches, err := fs.Glob(fsys, entry)
			if err != nil {
				return nil, fmt.Errorf("jcamp: pattern %q: %w", entry, err)
			}
			n := 0
			for _, m := range matches {
				if st, err := fs.Stat(fsys, m); err == nil && !st.IsDir() {
					add(m)
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("jcamp: no file matches %q", entry)
			}
			continue
		}
		st, err := fs.Stat(fsys, entry)
		if err != nil {
			return nil, fmt.Errorf("jcamp: %w", err)
		}
		if !st.IsDir() {
			add(entry)
			continue
		}
		des, err := fs.ReadDir(fsys, entry)
		if err != nil {
			return nil, fmt.Errorf("jcamp: %w", err)
		}
		n := 0
		for _, de := range des {
			if !de.IsDir() && slices.Contains(jcampExts, strings.ToLower(path.Ext(de.Name()))) {
				add(path.Join(entry, de.Name()))
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("jcamp: the folder %s holds no JCAMP-DX file (%s)", entry, strings.Join(jcampExts, ", "))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("jcamp: no files named")
	}
	return out, nil
}
