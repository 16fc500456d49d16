package preprocess_test

import (
	"fmt"

	"github.com/fdrmfl/fdrmfl/preprocess"
)

// A chain is parsed, its msc reference fitted from summed spectra (here
// one client's), and applied to every spectrum.
func Example() {
	c, err := preprocess.Parse("sg(5,2)+msc")
	if err != nil {
		panic(err)
	}
	spectra := []float32{
		1, 2, 3, 4, 5, 6, 7,
		2, 4, 6, 8, 10, 12, 14,
	}
	fitted, err := c.Fit(func(prefix preprocess.Chain) ([]float64, int, error) {
		return prefix.Sum(spectra, 7, 7, nil)
	})
	if err != nil {
		panic(err)
	}
	if err := fitted.Apply(spectra, 7, 7, nil); err != nil {
		panic(err)
	}
	fmt.Println(fitted)
	fmt.Printf("%.3g\n", spectra[7:])
	// Output:
	// sg(5,2)+msc
	// [1.5 3 4.5 6 7.5 9 10.5]
}
