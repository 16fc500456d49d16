package fdrmfl_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/fed"
)

func TestParseRows(t *testing.T) {
	cases := []struct {
		spec string
		n    int
		want []int
		err  string
	}{
		{"", 10, nil, ""},
		{"1-3", 10, []int{0, 1, 2}, ""},
		{"2, 5-6", 10, []int{1, 4, 5}, ""},
		{"9-11", 10, nil, "past the data's 10 rows"},
		{"3-1", 10, nil, "not a row or a range"},
		{"0", 10, nil, "not a row or a range"},
		{"1-2,2-3", 10, nil, "row 2 is selected twice"},
		{"a-b", -1, nil, "not a row or a range"},
	}
	for _, c := range cases {
		got, err := fdrmfl.ParseRows(c.spec, c.n)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, %v; want %v", c.spec, got, err, c.want)
		}
	}
}

// TestParticipantsPlanAsTheSimulation runs the setup phase by hand: three
// participants holding the simulation's parts answer the stats request,
// the server plans from their replies, and the plan is the simulation's
// model and standardisation.
func TestParticipantsPlanAsTheSimulation(t *testing.T) {
	cfg := small().Defaults()
	sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := fdrmfl.LoadData(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := fdrmfl.Partition(cfg, ds)
	if err != nil {
		t.Fatal(err)
	}
	var replies []fdrmfl.StatsReply
	for k, rows := range parts {
		p := &fdrmfl.Participant{Name: sim.Clients[k].Name, Data: ds, Rows: rows, Source: "simulation"}
		req, _ := json.Marshal(cfg.StatsRequest(k))
		u, err := p.Execute(context.Background(), fed.Task{Kind: fed.Stats, Payload: req})
		if err != nil {
			t.Fatal(err)
		}
		var r fdrmfl.StatsReply
		if err := json.Unmarshal(u.Payload, &r); err != nil {
			t.Fatal(err)
		}
		replies = append(replies, r)
	}
	m, err := fdrmfl.PlanFederation(cfg, replies)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(m)
	want, _ := json.Marshal(sim.Manifest)
	if string(got) != string(want) {
		t.Fatalf("planned manifest\n%s\nthe simulation's\n%s", got, want)
	}
	replies[2].Responses = []string{"other"}
	if _, err := fdrmfl.PlanFederation(cfg, replies); err == nil || !strings.Contains(err.Error(), "client 3 describes its data") {
		t.Fatalf("mismatched data: %v", err)
	}
}
