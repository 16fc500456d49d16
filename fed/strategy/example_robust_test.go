package strategy_test

import (
	"fmt"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
)

// ExampleRobust merges three honest updates and one hostile one with
// the coordinate-wise median: the hostile client cannot move the model
// outside the honest clients' range, and its sample count does not weigh.
func ExampleRobust() {
	s := &strategy.Robust{Rule: strategy.Median{}}
	global := fed.Weights{0, 0}
	next, err := s.Aggregate(1, global, []fed.Update{
		{Client: "a", Weights: fed.Weights{1, 2}, N: 10},
		{Client: "b", Weights: fed.Weights{2, 2}, N: 10},
		{Client: "c", Weights: fed.Weights{3, 1}, N: 10},
		{Client: "evil", Weights: fed.Weights{1e6, -1e6}, N: 1 << 30},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(next)
	// Output: [2.5 1.5]
}
