package data_test

import (
	"fmt"
	"log"
	"math/rand/v2"
	"testing/fstest"

	"github.com/fdrmfl/fdrmfl/data"
)

// Reading a spectrum file and a responses file, row-aligned, from an
// fs.FS. In a program fsys would be os.DirFS of the data folder.
func ExampleRead() {
	fsys := fstest.MapFS{
		"meat/spectra.csv":   {Data: []byte("ch1,ch2,ch3\n2.6,2.7,2.8\n2.9,3.0,3.1\nNaN,NaN,NaN\n")},
		"meat/responses.csv": {Data: []byte("fat,water,protein\n22.5,60.5,16.7\n40.1,46.0,13.5\n8.4,71.0,20.5\n")},
	}
	ds, err := data.Read(fsys, data.Spec{
		Modalities: []data.ModalitySpec{
			{Name: "spectrum", File: "meat/spectra.csv", Kind: data.Signal},
			{Name: "other", File: "meat/responses.csv", Kind: data.Vector, Columns: []string{"water", "protein"}},
		},
		ResponseFile: "meat/responses.csv",
		Responses:    []string{"fat"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range ds.Modalities {
		fmt.Printf("%s: %v %v, %d of %d samples present\n", m.Name, m.Kind, m.Shape, m.NumPresent(), ds.Len())
	}
	fmt.Println(ds.ResponseNames, ds.Y)

	_, err = data.Read(fstest.MapFS{"x.csv": {Data: []byte("a,b\n1,2\n3,oops\n")}},
		data.Spec{Modalities: []data.ModalitySpec{{Name: "x", File: "x.csv"}}})
	fmt.Println(err)
	// Output:
	// spectrum: signal [1 3], 2 of 3 samples present
	// other: vector [2], 3 of 3 samples present
	// [fat] [22.5 40.1 8.4]
	// modality "x": x.csv line 3 column 2 (b): cannot parse "oops" as a number
}

// Reading a lab's files as they come: a semicolon-separated spectrum file
// with decimal commas and a column of sample IDs, a replicate scan, and a
// sheet of reference values in another order with a missing value and the
// official split. The format is detected; the files are joined by ID.
func ExampleLoad() {
	fsys := fstest.MapFS{
		"nir.csv": {Data: []byte("sample;w1;w2\nA;0,51;0,62\nB;0,48;0,66\nA;0,53;0,64\nC;0,40;0,70\n")},
		"lab.csv": {Data: []byte("sample;protein;set\nC;11,2;test\nA;12,5;train\nB;NA;train\n")},
	}
	ds, rep, err := data.Load(fsys, data.Spec{
		Modalities:   []data.ModalitySpec{{Name: "nir", File: "nir.csv", Kind: data.Signal}},
		ResponseFile: "lab.csv",
		Replicates:   "mean",
		Split:        &data.SplitSource{Column: "set"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for i, id := range ds.IDs {
		fmt.Printf("%s: %v, protein %v, %v\n", id, ds.Modalities[0].Sample(i), ds.Y[i], ds.Roles[i])
	}
	fmt.Println(rep.Summary())
	fmt.Printf("%s read with %q and %q\n", rep.Files[0].File, rep.Files[0].Delimiter, rep.Files[0].Decimal)
	// Output:
	// A: [0.52 0.63], protein 12.5, train
	// B: [0.48 0.66], protein NaN, train
	// C: [0.4 0.7], protein 11.2, test
	// 3 samples joined by sample ID; replicates averaged: 1 sample of modality nir (2 rows); protein missing for 1; 1 without any response
	// nir.csv read with ";" and ","
}

// Fitting the standardiser on the training rows and applying it to all.
func ExampleFitStandardizer() {
	ds, err := data.Simulate(1, 100, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	train, test, err := data.TrainTestSplit(ds.Len(), 0.2, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		log.Fatal(err)
	}
	st, err := data.FitStandardizer(ds.Subset(train), &data.StandardizeOptions{
		Modes: map[string]data.Mode{"image": data.Global},
	})
	if err != nil {
		log.Fatal(err)
	}
	scaled, err := st.Apply(ds)
	if err != nil {
		log.Fatal(err)
	}
	for _, sc := range st.Modalities {
		fmt.Printf("%s: %v, %d means\n", sc.Name, sc.Mode, len(sc.Mean))
	}
	fmt.Println(len(train), "train,", len(test), "test,", scaled.Len(), "scaled")

	pred := []float32{0, 1} // predictions of y in standard units
	st.InverseY(pred)
	fmt.Printf("y: training mean %.3f, sd %.3f; predictions %.3f\n", st.Y.Mean[0], st.Y.Std[0], pred)
	// Output:
	// image: global, 1 means
	// text: per-feature, 500 means
	// vector: per-feature, 32 means
	// 80 train, 20 test, 100 scaled
	// y: training mean -0.041, sd 0.610; predictions [-0.041 0.569]
}

// The simulated data of the paper's first function.
func ExampleSimulate() {
	ds, err := data.Simulate(1, 2000, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range ds.Modalities {
		fmt.Println(m.Name, m.Kind, m.Shape, m.SampleSize())
	}
	fmt.Println(ds.Len(), ds.ResponseNames)
	// Output:
	// image image [3 32 32] 3072
	// text sequence [10 50] 500
	// vector vector [32] 32
	// 2000 [y]
}

// Five-fold cross-validation indices.
func ExampleKFold() {
	folds, err := data.KFold(12, 5, nil) // nil: unshuffled, contiguous folds
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range folds {
		fmt.Println(f.Test, len(f.Train))
	}
	// Output:
	// [0 1 2] 9
	// [3 4 5] 9
	// [6 7] 10
	// [8 9] 10
	// [10 11] 10
}
