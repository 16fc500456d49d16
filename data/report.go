package data

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Report is what Load found beyond the numbers: how it read each file, how
// it joined them, and every sample it had to treat specially, with the
// file and line at fault. Log writes it as structured log lines.
type Report struct {
	// Files lists each CSV file read, with the format used.
	Files []FileInfo
	// Samples is the number of samples; ByID says whether the files were
	// joined by sample ID (otherwise by row).
	Samples int
	ByID    bool
	// Absent counts, per modality, the samples without it (every value of
	// their rows missing).
	Absent map[string]int
	// Missing counts, per response, the samples without a value: they are
	// left out of training and evaluation for that response.
	Missing map[string]int
	// NoResponse counts the samples with no response at all: they take no
	// part in training or evaluation.
	NoResponse int
	// Replicates lists, per source, the samples with several rows and the
	// rows that were averaged into them.
	Replicates []Replicates
	// Notes has one entry per absent modality row, missing response and
	// other finding, in the order found.
	Notes []Note
}

// FileInfo is how one file was read.
type FileInfo struct {
	Source    string // "modality m5", "responses", "split"
	File      string
	Format    string // "CSV" or "JCAMP-DX"
	Delimiter string // ",", ";", "tab" or "whitespace" (CSV)
	Decimal   string // "." or "," (CSV)
	IDColumn  string // the column of sample IDs ("" for none)
	// Detected lists what was detected rather than set: "delimiter",
	// "decimal", "id_column".
	Detected []string
}

// Replicates counts the samples of one source that had several rows.
type Replicates struct {
	Source  string
	Samples int // samples with more than one row
	Rows    int // the rows averaged into them
}

// Note is one finding at a place in a file.
type Note struct {
	Kind string // "absent", "missing" or "ids"
	File string
	Line int    // 0: not one line
	ID   string // the sample's ID, if the files have IDs
	Msg  string
}

func (r *Report) addFile(t *table, source string) {
	if t == nil {
		return
	}
	if t.files != nil {
		r.Files = append(r.Files, FileInfo{Source: source, File: t.file, Format: "JCAMP-DX"})
		return
	}
	fi := FileInfo{Source: source, File: t.file, Format: "CSV", Delimiter: t.dialect.delimName(), Decimal: string(t.dialect.decimal),
		Detected: slices.Clone(t.dialect.detected)}
	if t.idCol >= 0 {
		fi.IDColumn = t.header[t.idCol]
		if t.idAuto {
			fi.Detected = append(fi.Detected, "id_column")
		}
	}
	r.Files = append(r.Files, fi)
}

func (r *Report) note(n Note) { r.Notes = append(r.Notes, n) }

func (r *Report) absent(modality string) {
	if r.Absent == nil {
		r.Absent = map[string]int{}
	}
	r.Absent[modality]++
}

func (r *Report) missing(response string) {
	if r.Missing == nil {
		r.Missing = map[string]int{}
	}
	r.Missing[response]++
}

func (r *Report) replicates(source string, rows int) {
	for i := range r.Replicates {
		if r.Replicates[i].Source == source {
			r.Replicates[i].Samples++
			r.Replicates[i].Rows += rows
			return
		}
	}
	r.Replicates = append(r.Replicates, Replicates{Source: source, Samples: 1, Rows: rows})
}

// maxNotes is how many notes of one kind Log writes before it summarises
// the rest.
const maxNotes = 50

// Log writes the report to l: the files' formats and the joining at Info,
// then every note — an absent modality row, a missing response, with its
// file, line and sample — and the counts at Warn, at most maxNotes notes
// of each kind.
func (r *Report) Log(l *slog.Logger) {
	if r == nil || l == nil {
		return
	}
	for _, f := range r.Files {
		attrs := []any{"source", f.Source, "file", f.File, "format", f.Format}
		if f.Format == "CSV" {
			attrs = append(attrs, "delimiter", f.Delimiter, "decimal", f.Decimal)
		}
		if f.IDColumn != "" {
			attrs = append(attrs, "id_column", f.IDColumn)
		}
		if len(f.Detected) > 0 {
			attrs = append(attrs, "detected", strings.Join(f.Detected, ","))
		}
		l.Info("data file", attrs...)
	}
	by := "row"
	if r.ByID {
		by = "sample ID"
	}
	l.Info("data read", "samples", r.Samples, "joined_by", by)
	for _, rp := range r.Replicates {
		l.Info("replicates averaged", "source", rp.Source, "samples", rp.Samples, "rows", rp.Rows)
	}
	shown := map[string]int{}
	for _, n := range r.Notes {
		shown[n.Kind]++
		if shown[n.Kind] > maxNotes {
			continue
		}
		attrs := []any{"file", n.File}
		if n.Line > 0 {
			attrs = append(attrs, "line", n.Line)
		}
		if n.ID != "" {
			attrs = append(attrs, "sample", n.ID)
		}
		l.Warn(n.Msg, attrs...)
	}
	for _, kind := range sortedKeys(shown) {
		if n := shown[kind]; n > maxNotes {
			l.Warn("more notes not shown", "kind", kind, "count", n-maxNotes)
		}
	}
	for _, m := range sortedKeys(r.Absent) {
		l.Warn("modality absent", "modality", m, "samples", r.Absent[m], "of", r.Samples)
	}
	for _, m := range sortedKeys(r.Missing) {
		l.Warn("response missing: those samples are left out for it", "response", m, "samples", r.Missing[m], "of", r.Samples)
	}
	if r.NoResponse > 0 {
		l.Warn("samples without any response are left out of training and evaluation", "samples", r.NoResponse, "of", r.Samples)
	}
}

// Summary returns the report's counts in one line for a person:
// "80 samples joined by sample ID; replicates averaged: 12 samples of
// modality m5 (24 rows); modality mp5 absent for 2; protein missing for 3".
func (r *Report) Summary() string {
	by := "aligned by row"
	if r.ByID {
		by = "joined by sample ID"
	}
	parts := []string{fmt.Sprintf("%d samples %s", r.Samples, by)}
	for _, rp := range r.Replicates {
		parts = append(parts, fmt.Sprintf("replicates averaged: %s of %s (%d rows)", plural(rp.Samples, "sample"), rp.Source, rp.Rows))
	}
	for _, m := range sortedKeys(r.Absent) {
		parts = append(parts, fmt.Sprintf("modality %s absent for %d", m, r.Absent[m]))
	}
	for _, m := range sortedKeys(r.Missing) {
		parts = append(parts, fmt.Sprintf("%s missing for %d", m, r.Missing[m]))
	}
	if r.NoResponse > 0 {
		parts = append(parts, fmt.Sprintf("%d without any response", r.NoResponse))
	}
	return strings.Join(parts, "; ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
