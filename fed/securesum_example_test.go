package fed_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/sim"
)

// ExampleSecureFloats sums three clients' statistics — a count and two
// sums, at very different scales — so that the server learns only the
// totals. Each client answers the first task of each aggregation with
// BeginFloats on its own vector, and the protocol's steps with its
// SecureClient.
func ExampleSecureFloats() {
	vectors := map[string][]float64{
		"a": {40, 1.5e6, -0.003},
		"b": {25, 2.5e6, 0.001},
		"c": {35, 0.5e6, 0.004},
	}
	clients := map[string]fed.Client{}
	for name, x := range vectors {
		sc := &fed.SecureClient{}
		clients[name] = fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
			if t.Kind == fed.SecAgg {
				return sc.Execute(ctx, t)
			}
			var step fed.FloatStep
			if err := json.Unmarshal(t.Payload, &step); err != nil {
				return fed.Update{}, err
			}
			msg, err := sc.BeginFloats(t.Client, step, x)
			return fed.Update{Kind: fed.Stats, Payload: msg}, err
		})
	}
	cfg := fed.FloatSumConfig{
		Fleet: sim.New(clients),
		Task: func(client string, step fed.FloatStep) (fed.Task, error) {
			b, err := json.Marshal(step)
			return fed.Task{Kind: fed.Stats, Payload: b}, err
		},
	}
	// Three blocks: the count, the sum, the small sum.
	res, err := fed.SecureFloats(context.Background(), cfg, []string{"a", "b", "c"}, []int{1, 1, 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("count %.0f, sum %.6g, small sum %.6g, from %v\n", res.Sum[0], res.Sum[1], res.Sum[2], res.Clients)
	fmt.Printf("bound on the small sum: %.1g\n", res.Bound(2))
	// Output:
	// count 100, sum 4.5e+06, small sum 0.002, from [a b c]
	// bound on the small sum: 1e-20
}
