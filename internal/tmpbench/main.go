package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/fdrmfl/fdrmfl/bench"
)

func main() {
	var out []bench.Result
	for _, t := range os.Args[1:] {
		r, err := bench.Run(t, bench.Options{})
		if err != nil {
			panic(err)
		}
		out = append(out, r)
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
