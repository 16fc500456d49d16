package partition_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/data/partition"
)

// Clients by response quantile: with mix 0 each client holds one band of
// y; with mix 1 the split is as good as IID.
func ExampleByResponse() {
	y := []float32{5.1, 0.2, 3.3, 9.9, 1.4, 7.0, 2.8, 6.5, 8.1}
	ds, err := data.New(len(y), nil, []string{"y"}, y)
	if err != nil {
		log.Fatal(err)
	}
	parts, err := partition.ByResponse(ds, "y", 3, 0, nil)
	if err != nil {
		log.Fatal(err)
	}
	for c, p := range parts {
		fmt.Print("client ", c, ":")
		for _, i := range p {
			fmt.Print(" ", y[i])
		}
		fmt.Println()
	}
	mixed, err := partition.ByResponse(ds, "y", 3, 1, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sizes with mix 1:", partition.Sizes(mixed), partition.Check(len(y), mixed))
	// Output:
	// client 0: 0.2 1.4 2.8
	// client 1: 5.1 3.3 6.5
	// client 2: 9.9 7 8.1
	// sizes with mix 1: [3 3 3] <nil>
}

// Skewed client sizes from a Dirichlet draw, each client keeping at least
// the default minimum of two samples.
func ExampleDirichlet() {
	parts, err := partition.Dirichlet(100, 4, 0.5, 0, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	total, smallest := 0, 100
	for _, s := range partition.Sizes(parts) {
		total += s
		smallest = min(smallest, s)
	}
	fmt.Println(len(parts), "clients,", total, "samples, none under", partition.DefaultMinSize, smallest >= partition.DefaultMinSize)
	// Output:
	// 4 clients, 100 samples, none under 2 true
}

// Three clients of the simulated data, IID, where client 1 has no text
// and client 2 only the image.
func ExampleByModality() {
	ds, err := data.Simulate(1, 30, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	parts, err := partition.IID(ds.Len(), 3, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		log.Fatal(err)
	}
	clients, err := partition.ByModality(ds, parts, map[int][]string{
		1: {"text"},
		2: {"text", "vector"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for c, cd := range clients {
		fmt.Printf("client %d, %d samples:", c, cd.Len())
		for _, m := range cd.Modalities {
			fmt.Printf(" %s %d/%d", m.Name, m.NumPresent(), cd.Len())
		}
		fmt.Println()
	}
	// Output:
	// client 0, 10 samples: image 10/10 text 10/10 vector 10/10
	// client 1, 10 samples: image 10/10 text 0/10 vector 10/10
	// client 2, 10 samples: image 10/10 text 0/10 vector 0/10
}
