package jcamp_test

import (
	"fmt"
	"strings"

	"github.com/fdrmfl/fdrmfl/data/jcamp"
)

// A near-infrared spectrum of six points in DIFDUP form, as an instrument
// writes it: each line begins with its abscissa, and each line after one
// that ends in DIF form repeats the last ordinate as a check.
func ExampleDecode() {
	const file = `##TITLE= S01
##JCAMP-DX= 5.01
##DATA TYPE= NEAR INFRARED SPECTRUM
##XUNITS= NANOMETERS
##YUNITS= ABSORBANCE
##XFACTOR= 1
##YFACTOR= 0.0001
##FIRSTX= 1100
##LASTX= 1110
##NPOINTS= 6
##XYDATA=(X++(Y..Y))
1100D512LJ%
1106D516kT
1110D512
##END=
`
	spectra, err := jcamp.Decode(strings.NewReader(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := spectra[0]
	for i, y := range s.Y {
		fmt.Printf("%s %v nm: %.4f\n", s.Title, s.X(i), y)
	}
	// Output:
	// S01 1100 nm: 0.4512
	// S01 1102 nm: 0.4515
	// S01 1104 nm: 0.4516
	// S01 1106 nm: 0.4516
	// S01 1108 nm: 0.4514
	// S01 1110 nm: 0.4512
}
