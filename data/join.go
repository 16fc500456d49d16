package data

import (
	"errors"
	"fmt"
	"math"
)

// This file puts the tables read from a Spec's files together into one
// dataset: it picks the selected rows, joins the files by sample ID (or
// aligns them by row), averages replicate rows and records what it finds
// in the report.

// joined says, for each sample and each table, which rows hold it.
type joined struct {
	n    int
	ids  []string  // per sample; nil when the files are aligned by row
	rows [][][]int // per table, per sample: its rows in that table
}

// assemble builds the dataset from the tables of spec's sources: the
// modalities in order, then the responses and the split (either may be
// nil).
func assemble(spec Spec, mods []*table, resp, split *table, rep *Report) (*Dataset, error) {
	tables := append([]*table(nil), mods...)
	names := make([]string, len(mods))
	for i, ms := range spec.Modalities {
		names[i] = fmt.Sprintf("modality %q", ms.Name)
	}
	for _, t := range []struct {
		t    *table
		name string
	}{{resp, "responses"}, {split, "split"}} {
		if t.t != nil {
			tables = append(tables, t.t)
			names = append(names, t.name)
		}
	}
	var j *joined
	var err error
	withIDs := -1
	for i, t := range mods {
		if t.ids != nil {
			withIDs = i
			break
		}
	}
	if withIDs >= 0 {
		j, err = joinByID(spec, tables, names, withIDs)
	} else {
		j, err = joinByRow(spec, tables, rep)
	}
	if err != nil {
		return nil, err
	}
	rep.Samples, rep.ByID = j.n, j.ids != nil

	out := make([]Modality, len(mods))
	for k, t := range mods {
		ms := spec.Modalities[k]
		m, err := modalityOf(ms, t, j, k, rep)
		if err != nil {
			return nil, fmt.Errorf("modality %q: %w", ms.Name, err)
		}
		out[k] = m
	}
	var y []float32
	var rnames []string
	k := len(mods)
	if resp != nil {
		if y, rnames, err = responsesOf(resp, j, k, rep); err != nil {
			return nil, fmt.Errorf("responses: %w", err)
		}
		k++
	}
	ds, err := New(j.n, out, rnames, y)
	if err != nil {
		return nil, err
	}
	ds.IDs = j.ids
	if split != nil {
		if ds.Roles, err = rolesOf(split, j, k); err != nil {
			return nil, fmt.Errorf("split: %w", err)
		}
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	return ds, nil
}

// selection returns the rows of the first source that spec keeps.
func selection(spec Spec, first *table) ([]int, error) {
	if spec.Rows == nil {
		sel := make([]int, first.rows)
		for i := range sel {
			sel[i] = i
		}
		return sel, nil
	}
	for _, r := range spec.Rows {
		if r < 0 || r >= first.rows {
			return nil, fmt.Errorf("the row selection (rows) names row %d, past the %d data rows of %s", r+1, first.rows, first.file)
		}
	}
	return spec.Rows, nil
}

// joinByRow aligns tables by row: row i of each is the same sample.
func joinByRow(spec Spec, tables []*table, rep *Report) (*joined, error) {
	first := tables[0]
	for _, t := range tables[1:] {
		if t.rows != first.rows {
			return nil, fmt.Errorf("%s has %d data rows but %s has %d; the files must be row-aligned (or have sample ID columns to join them by)",
				t.file, t.rows, first.file, first.rows)
		}
		if t.ids != nil {
			rep.note(Note{Kind: "ids", File: t.file, Msg: fmt.Sprintf("column %q holds sample IDs, but the modality files have none: the files are aligned by row, and the IDs are not used", t.header[t.idCol])})
		}
	}
	if spec.Replicates == "mean" {
		return nil, errors.New("replicates: mean needs sample IDs, to know which rows are replicates; give the files an ID column (id_column)")
	}
	sel, err := selection(spec, first)
	if err != nil {
		return nil, err
	}
	j := &joined{n: len(sel), rows: make([][][]int, len(tables))}
	for k := range tables {
		j.rows[k] = make([][]int, len(sel))
		for i, r := range sel {
			j.rows[k][i] = []int{r}
		}
	}
	return j, nil
}

// joinByID joins tables by sample ID. Every table must have IDs (tables[lead]
// is one that has); the samples are the IDs of the first table's selected
// rows, in order.
func joinByID(spec Spec, tables []*table, names []string, lead int) (*joined, error) {
	first := tables[lead]
	at := func(k int, err error) error { return fmt.Errorf("%s: %w", names[k], err) }
	for k, t := range tables {
		if t.ids == nil {
			return nil, at(k, fmt.Errorf("%s has no sample ID column, but %s has one (%s): the files are joined by sample ID, so each needs one; name it with id_column",
				t.file, first.file, idColumnName(first)))
		}
	}
	sel, err := selection(spec, tables[0])
	if err != nil {
		return nil, err
	}
	// The samples: the IDs of the selected rows of the first table, in order.
	j := &joined{rows: make([][][]int, len(tables))}
	index := map[string]int{}
	t0 := tables[0]
	j.rows[0] = [][]int{}
	for _, r := range sel {
		id := t0.ids[r]
		if id == "" {
			file, line := t0.where(r)
			if err := t0.bad[r]; err != nil {
				return nil, at(0, err)
			}
			return nil, at(0, &FormatError{File: file, Line: line, Column: t0.idCol + 1, Header: idHeader(t0), Err: errors.New("empty sample ID")})
		}
		if i, dup := index[id]; dup {
			if spec.Replicates != "mean" {
				return nil, at(0, repeatError(t0, r, j.rows[0][i][0], id))
			}
			j.rows[0][i] = append(j.rows[0][i], r)
			continue
		}
		index[id] = len(j.ids)
		j.ids = append(j.ids, id)
		j.rows[0] = append(j.rows[0], []int{r})
	}
	j.n = len(j.ids)
	known := map[string]bool{} // every ID of the first table, selected or not
	for _, id := range t0.ids {
		known[id] = true
	}
	for k, t := range tables[1:] {
		k++
		j.rows[k] = make([][]int, j.n)
		for r, id := range t.ids {
			if id == "" {
				if err := t.bad[r]; err != nil {
					return nil, at(k, err)
				}
				file, line := t.where(r)
				return nil, at(k, &FormatError{File: file, Line: line, Column: t.idCol + 1, Header: idHeader(t), Err: errors.New("empty sample ID")})
			}
			i, ok := index[id]
			if !ok {
				if known[id] {
					continue // a sample the row selection leaves out
				}
				file, line := t.where(r)
				return nil, at(k, &FormatError{File: file, Line: line, Column: t.idCol + 1, Header: idHeader(t),
					Err: fmt.Errorf("sample %q is not in %s, whose rows list the samples (a typo in the ID, or a row to add there?)", id, t0.file)})
			}
			if prev := j.rows[k][i]; len(prev) > 0 && spec.Replicates != "mean" {
				return nil, at(k, repeatError(t, r, prev[0], id))
			}
			j.rows[k][i] = append(j.rows[k][i], r)
		}
		for i, rows := range j.rows[k] {
			if len(rows) == 0 && (spec.MissingRows != "absent" || names[k] == "split") {
				file, line := t0.where(j.rows[0][i][0])
				what := "a row with empty values marks a modality absent for a sample, as does missing_rows: absent for every missing row"
				switch names[k] {
				case "responses":
					what = "a row with empty values (or NA) marks its responses missing, as does missing_rows: absent for every missing row"
				case "split":
					what = "every sample needs a split label"
				}
				return nil, at(k, fmt.Errorf("%s has no row for sample %q (%s line %d); %s",
					t.file, j.ids[i], file, line, what))
			}
		}
	}
	return j, nil
}

func idHeader(t *table) string {
	if t.idCol >= 0 && t.idCol < len(t.header) {
		return t.header[t.idCol]
	}
	return ""
}

func idColumnName(t *table) string {
	if t.files != nil {
		return "from the JCAMP-DX spectra"
	}
	return fmt.Sprintf("column %q", idHeader(t))
}

func repeatError(t *table, r, prev int, id string) error {
	file, line := t.where(r)
	pfile, pline := t.where(prev)
	where := fmt.Sprintf("line %d", pline)
	if pfile != file {
		where = fmt.Sprintf("%s line %d", pfile, pline)
	}
	return &FormatError{File: file, Line: line, Column: t.idCol + 1, Header: idHeader(t),
		Err: fmt.Errorf("sample %q repeats %s; set replicates: mean to average replicate scans, or give each row its own ID", id, where)}
}

// modalityOf builds modality k of the dataset from its table: each
// sample's rows averaged over those present, absent when none is.
func modalityOf(ms ModalitySpec, t *table, j *joined, k int, rep *Report) (Modality, error) {
	width := len(t.cols)
	shape := ms.Shape
	if len(shape) == 0 {
		switch ms.Kind {
		case Vector:
			shape = []int{width}
		case Signal:
			shape = []int{1, width}
		}
	}
	m := Modality{Name: ms.Name, Kind: ms.Kind, Shape: shape}
	if m.SampleSize() != width {
		what := fmt.Sprintf("%s gives %d columns", t.file, width)
		if len(ms.JCAMP) > 0 {
			what = fmt.Sprintf("the spectra have %d points", width)
		}
		return m, fmt.Errorf("shape %v holds %d values per sample but %s", shape, m.SampleSize(), what)
	}
	m.Data = make([]float32, j.n*width)
	sum := make([]float64, width)
	reps := 0
	for i, rows := range j.rows[k] {
		dst := m.Data[i*width : (i+1)*width]
		n := 0
		clear(sum)
		for _, r := range rows {
			if err := t.bad[r]; err != nil {
				return m, err
			}
			if t.isAbsent(r) {
				continue
			}
			n++
			for c, v := range t.data[r*width : (r+1)*width] {
				sum[c] += float64(v)
			}
		}
		switch {
		case n == 0:
			if m.Present == nil {
				m.Present = make([]bool, j.n)
				for s := range m.Present {
					m.Present[s] = true
				}
			}
			m.Present[i] = false
			if len(rows) == 0 {
				rep.note(Note{Kind: "absent", File: t.file, ID: j.id(i), Msg: fmt.Sprintf("no row: the sample lacks modality %s", ms.Name)})
			} else {
				file, line := t.where(rows[0])
				rep.note(Note{Kind: "absent", File: file, Line: line, ID: j.id(i), Msg: fmt.Sprintf("no values: the sample lacks modality %s", ms.Name)})
			}
			rep.absent(ms.Name)
		case n == 1 && len(rows) == 1:
			copy(dst, t.data[rows[0]*width:])
		default:
			for c := range dst {
				dst[c] = float32(sum[c] / float64(n))
			}
		}
		if len(rows) > 1 {
			reps += len(rows)
			rep.replicates("modality "+ms.Name, len(rows))
		}
	}
	return m, nil
}

func (j *joined) id(i int) string {
	if j.ids == nil {
		return ""
	}
	return j.ids[i]
}

// responsesOf builds the responses: each sample's observed values averaged
// over its rows, NaN where none is observed.
func responsesOf(t *table, j *joined, k int, rep *Report) ([]float32, []string, error) {
	q := len(t.cols)
	names := make([]string, q)
	for c, col := range t.cols {
		names[c] = t.header[col]
	}
	y := make([]float32, j.n*q)
	sum, cnt := make([]float64, q), make([]int, q)
	for i, rows := range j.rows[k] {
		clear(sum)
		clear(cnt)
		for _, r := range rows {
			if err := t.bad[r]; err != nil {
				return nil, nil, err
			}
			for c, v := range t.data[r*q : (r+1)*q] {
				if v == v {
					sum[c] += float64(v)
					cnt[c]++
				}
			}
		}
		none := true
		for c := range q {
			switch {
			case cnt[c] == 0:
				y[i*q+c] = float32(math.NaN())
				n := Note{Kind: "missing", File: t.file, ID: j.id(i), Msg: fmt.Sprintf("no row: the sample is left out for %s", names[c])}
				if len(rows) > 0 {
					n.File, n.Line = t.where(rows[0])
					n.Msg = fmt.Sprintf("no value of %s: the sample is left out for that response", names[c])
				}
				rep.note(n)
				rep.missing(names[c])
			case len(rows) == 1:
				y[i*q+c] = t.data[rows[0]*q+c]
				none = false
			default:
				y[i*q+c] = float32(sum[c] / float64(cnt[c]))
				none = false
			}
		}
		if none {
			rep.NoResponse++
		}
		if len(rows) > 1 {
			rep.replicates("responses", len(rows))
		}
	}
	return y, names, nil
}

// rolesOf reads each sample's role from the split table; replicate rows
// must agree.
func rolesOf(t *table, j *joined, k int) ([]Role, error) {
	roles := make([]Role, j.n)
	for i, rows := range j.rows[k] {
		for n, r := range rows {
			if err := t.bad[r]; err != nil {
				return nil, err
			}
			file, line := t.where(r)
			role, err := ParseRole(t.labels[r])
			if err != nil {
				return nil, &FormatError{File: file, Line: line, Column: t.cols[0] + 1, Header: t.header[t.cols[0]], Err: err}
			}
			if n > 0 && role != roles[i] {
				return nil, &FormatError{File: file, Line: line, Column: t.cols[0] + 1, Header: t.header[t.cols[0]],
					Err: fmt.Errorf("sample %q is %v here but %v on an earlier row", j.id(i), role, roles[i])}
			}
			roles[i] = role
		}
	}
	return roles, nil
}
