package data

import (
	"fmt"
	"io/fs"
	"slices"
)

// This file reads the two real datasets of the paper's experiments from
// the layout of the project's shared data folder: fsys is the data root, so
// the files are "corn/m5.csv", "tecator/spectra.csv" and so on.

// The responses of the corn and Tecator data, in the column order of their
// responses.csv files, and corn's three NIR spectrometers, each a file
// corn/<name>.csv of 80 samples × 700 channels (1100–2498 nm). Unexported
// so that no caller can change them.
var (
	cornResponses    = []string{"moisture", "oil", "protein", "starch"}
	tecatorResponses = []string{"fat", "water", "protein"}
	cornInstruments  = []string{"m5", "mp5", "mp6"}
)

// CornP2 reads the corn data for protocol P2 of the method (spectra only):
// the three instruments m5, mp5 and mp6 as three Signal modalities of
// shape [1, 700], and all four responses.
func CornP2(fsys fs.FS) (*Dataset, error) {
	spec := Spec{ResponseFile: "corn/responses.csv", Responses: cornResponses}
	for _, inst := range cornInstruments {
		spec.Modalities = append(spec.Modalities,
			ModalitySpec{Name: inst, File: "corn/" + inst + ".csv", Kind: Signal})
	}
	return Read(fsys, spec)
}

// CornP1 reads the corn data for the author's protocol P1, with response
// (moisture, oil, protein or starch) as the single response: modality
// "spectrum" is the m5 spectrum, a Signal of shape [1, 700], and modality
// "vector" holds the other three measured responses, in file order, as a
// Vector of shape [3].
//
// The author's code fed a 699-step spectrum, most likely because it dropped
// the first column as if it were an index; this reader keeps all 700
// channels.
func CornP1(fsys fs.FS, response string) (*Dataset, error) {
	return readP1(fsys, "corn", "corn/m5.csv", cornResponses, response)
}

// TecatorP1 reads the Tecator data for the author's protocol P1, with
// response (fat, water or protein) as the single response: modality
// "spectrum" is the absorbance spectrum, a Signal of shape [1, 100], and
// modality "vector" holds the other two responses, in file order, as a
// Vector of shape [2].
//
// As for CornP1, all 100 channels are kept where the author's code used 99.
func TecatorP1(fsys fs.FS, response string) (*Dataset, error) {
	return readP1(fsys, "tecator", "tecator/spectra.csv", tecatorResponses, response)
}

func readP1(fsys fs.FS, set, spectra string, all []string, response string) (*Dataset, error) {
	if !slices.Contains(all, response) {
		return nil, fmt.Errorf("%s: no response %q; want one of %s", set, response, listNames(all))
	}
	others := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == response })
	return Read(fsys, Spec{
		Modalities: []ModalitySpec{
			{Name: "spectrum", File: spectra, Kind: Signal},
			{Name: "vector", File: set + "/responses.csv", Kind: Vector, Columns: others},
		},
		ResponseFile: set + "/responses.csv",
		Responses:    []string{response},
	})
}

// TecatorSpectra reads the Tecator data with the spectrum as its only
// modality ("spectrum", a Signal of shape [1, 100]) and all three responses
// fat, water and protein.
func TecatorSpectra(fsys fs.FS) (*Dataset, error) {
	return Read(fsys, Spec{
		Modalities:   []ModalitySpec{{Name: "spectrum", File: "tecator/spectra.csv", Kind: Signal}},
		ResponseFile: "tecator/responses.csv",
		Responses:    tecatorResponses,
	})
}

// TecatorSplit returns the standard StatLib split of the Tecator data:
// samples 1–172 (sets C and M) for training and 173–215 (set T) for
// testing, as 0-based indices read from tecator/split.csv.
func TecatorSplit(fsys fs.FS) (train, test []int, err error) {
	return ReadSplit(fsys, "tecator/split.csv", "split")
}
