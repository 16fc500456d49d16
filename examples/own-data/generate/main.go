// Command generate writes the made-up wheat dataset of the README's "Your
// own data" section, as a lab would hand it over: near-infrared spectra of
// 60 samples from two instruments — one exporting a semicolon-separated,
// decimal-comma CSV with replicate scans, the other JCAMP-DX files, one per
// sample — and a sheet of reference values with gaps and an official
// train/test split; then six new samples to predict. The numbers come from
// a simple absorbance model with a fixed seed, so the files are the same
// every time:
//
//	go run ./examples/own-data/generate --out examples/own-data
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	out := flag.String("out", ".", "the `folder` to write the dataset to")
	flag.Parse()
	if err := write(*out); err != nil {
		log.Fatal(err)
	}
}

// sample is one wheat sample: its composition and scatter.
type sample struct {
	id                string
	protein, moisture float64
	offset, slope     float64
}

// Instrument A: 1100–2500 nm every 50 nm; instrument B: every 70 nm.
var (
	axisA = axis(1100, 2500, 50)
	axisB = axis(1100, 2500, 70)
)

func axis(from, to, step int) []int {
	var a []int
	for x := from; x <= to; x += step {
		a = append(a, x)
	}
	return a
}

func band(x, centre, width float64) float64 {
	d := (x - centre) / width
	return math.Exp(-0.5 * d * d)
}

// absorbance is the spectrum of s at wavelength x (nm), as an instrument
// with the given gain and offset sees it.
func absorbance(s sample, x, gain, offset float64, r *rand.Rand, noise float64) float64 {
	a := s.offset + s.slope*(x-1100)/1400 +
		0.018*s.protein*band(x, 2180, 60) + 0.012*s.protein*band(x, 1980, 90) +
		0.025*s.moisture*(band(x, 1940, 50)+0.5*band(x, 1450, 40)) +
		0.15*band(x, 2300, 70)
	return gain*a + offset + noise*r.NormFloat64()
}

func newSample(id string, r *rand.Rand) sample {
	return sample{id: id, protein: 10 + 5*r.Float64(), moisture: 9 + 5*r.Float64(),
		offset: 0.25 + 0.05*r.NormFloat64(), slope: 0.08 * r.NormFloat64()}
}

func write(dir string) error {
	r := rand.New(rand.NewPCG(2024, 7))
	var samples []sample
	for i := range 60 {
		samples = append(samples, newSample(fmt.Sprintf("S%03d", i+1), r))
	}
	// Instrument A: a CSV with semicolons and decimal commas; ten samples
	// scanned twice; S017's scan failed (its row is empty).
	var a strings.Builder
	a.WriteString("sample")
	for _, x := range axisA {
		fmt.Fprintf(&a, ";nm%d", x)
	}
	a.WriteString("\n")
	scanA := func(b *strings.Builder, s sample, empty bool) {
		b.WriteString(s.id)
		for _, x := range axisA {
			b.WriteString(";")
			if !empty {
				b.WriteString(comma(absorbance(s, float64(x), 1, 0, r, 0.002), 4))
			}
		}
		b.WriteString("\n")
	}
	for i, s := range samples {
		scanA(&a, s, s.id == "S017")
		if i%6 == 2 {
			scanA(&a, s, false) // a replicate scan
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "instrument-a.csv"), []byte(a.String()), 0o644); err != nil {
		return err
	}
	// Instrument B: one JCAMP-DX file per sample, in DIFDUP form.
	if err := os.MkdirAll(filepath.Join(dir, "instrument-b"), 0o755); err != nil {
		return err
	}
	for _, s := range samples {
		block := jcampBlock(s.id, spectrumB(s, r))
		if err := os.WriteFile(filepath.Join(dir, "instrument-b", s.id+".jdx"), []byte(block), 0o644); err != nil {
			return err
		}
	}
	// The lab's reference values, in another order, with gaps (empty, NA,
	// ?), and the official split: every fourth sample is for testing.
	var ref strings.Builder
	ref.WriteString("sample;protein;moisture;set\n")
	for k := range samples {
		i := (k * 37) % len(samples) // a shuffled order
		s := samples[i]
		p, m := comma(s.protein, 2), comma(s.moisture, 2)
		switch s.id {
		case "S005", "S023":
			p = ""
		case "S031":
			p = "NA"
		case "S008", "S040":
			m = "NA"
		case "S012":
			m = "?"
		case "S052":
			p, m = "", ""
		}
		set := "train"
		if i%4 == 3 {
			set = "test"
		}
		fmt.Fprintf(&ref, "%s;%s;%s;%s\n", s.id, p, m, set)
	}
	if err := os.WriteFile(filepath.Join(dir, "reference.csv"), []byte(ref.String()), 0o644); err != nil {
		return err
	}
	// New samples to predict: a CSV of instrument A, and one JCAMP-DX LINK
	// file of instrument B holding all six spectra.
	var na, link strings.Builder
	na.WriteString(strings.SplitN(a.String(), "\n", 2)[0] + "\n")
	link.WriteString("##TITLE= new samples, week 12\n##JCAMP-DX= 5.01\n##DATA TYPE= LINK\n##BLOCKS= 6\n##ORIGIN= made up for the fdrmfl README\n##OWNER= public domain\n")
	var fresh []sample
	for i := range 6 {
		s := newSample(fmt.Sprintf("N%03d", i+1), r)
		fresh = append(fresh, s)
		scanA(&na, s, false)
		link.WriteString(jcampBlock(s.id, spectrumB(s, r)))
	}
	link.WriteString("##END=\n")
	var truth strings.Builder
	truth.WriteString("sample;protein;moisture\n")
	for _, s := range fresh {
		fmt.Fprintf(&truth, "%s;%s;%s\n", s.id, comma(s.protein, 2), comma(s.moisture, 2))
	}
	if err := os.MkdirAll(filepath.Join(dir, "new", "instrument-b"), 0o755); err != nil {
		return err
	}
	for name, text := range map[string]string{
		"new/instrument-a.csv":         na.String(),
		"new/instrument-b/week-12.jdx": link.String(),
		"new/reference.csv":            truth.String(),
	} {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// spectrumB is instrument B's spectrum of s in units of YFACTOR = 0.0001.
func spectrumB(s sample, r *rand.Rand) []int {
	ys := make([]int, len(axisB))
	for i, x := range axisB {
		ys[i] = int(math.Round(absorbance(s, float64(x), 0.9, 0.05, r, 0.003) / 1e-4))
	}
	return ys
}

// comma formats v with d decimals and a decimal comma.
func comma(v float64, d int) string {
	return strings.Replace(strconv.FormatFloat(v, 'f', d, 64), ".", ",", 1)
}

// jcampBlock writes one spectrum of instrument B as a JCAMP-DX block:
// ##XYDATA=(X++(Y..Y)) in DIFDUP form, eight ordinates a line, each line
// after the first beginning with the Y check.
func jcampBlock(title string, ys []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "##TITLE= %s\n##JCAMP-DX= 5.01\n##DATA TYPE= NEAR INFRARED SPECTRUM\n##ORIGIN= made up for the fdrmfl README\n##OWNER= public domain\n", title)
	fmt.Fprintf(&b, "##XUNITS= NANOMETERS\n##YUNITS= ABSORBANCE\n##XFACTOR= 1\n##YFACTOR= 0.0001\n##FIRSTX= %d\n##LASTX= %d\n##NPOINTS= %d\n##FIRSTY= %s\n",
		axisB[0], axisB[len(axisB)-1], len(ys), strconv.FormatFloat(float64(ys[0])*1e-4, 'f', 4, 64))
	b.WriteString("##XYDATA=(X++(Y..Y))\n")
	const per = 8
	for start := 0; start < len(ys); start += per {
		first := max(start-1, 0) // the Y check repeats the last ordinate of the line before
		fmt.Fprintf(&b, "%d%s", axisB[first], sqz(ys[first], "@ABCDEFGHI", "abcdefghi"))
		prev, run := "", 0
		flush := func() {
			if run > 0 {
				b.WriteString(prev)
				if run > 1 {
					b.WriteString(sqz(run, "?STUVWXYZs", ""))
				}
			}
		}
		for i := first + 1; i < min(start+per, len(ys)); i++ {
			d := sqz(ys[i]-ys[i-1], "%JKLMNOPQR", "jklmnopqr")
			if d == prev && run < 9 {
				run++
				continue
			}
			flush()
			prev, run = d, 1
		}
		flush()
		b.WriteString("\n")
	}
	if last := len(ys) - 1; (len(ys)-1)%per != 0 { // the last line ended in DIF form: its Y check
		fmt.Fprintf(&b, "%d%s\n", axisB[last], sqz(ys[last], "@ABCDEFGHI", "abcdefghi"))
	}
	b.WriteString("##END=\n")
	return b.String()
}

// sqz writes v with its first digit replaced by a pseudo-digit: pos[d]
// for v ≥ 0, neg[d−1] for v < 0.
func sqz(v int, pos, neg string) string {
	s := strconv.Itoa(v)
	if v < 0 {
		s = s[1:]
		return string(neg[s[0]-'1']) + s[1:]
	}
	return string(pos[s[0]-'0']) + s[1:]
}
