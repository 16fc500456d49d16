package deploy

import (
	"errors"
	"fmt"
	"slices"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/preprocess"
	"github.com/fdrmfl/fdrmfl/site"
)

// StatsRequest is the payload of a fed.Stats task: how a client is to
// split its samples and which statistics to send.
type StatsRequest struct {
	// SplitSpec carries the seed, the client's number in the federation
	// (from 0: its random streams), the test and validation fractions and
	// the modalities this client is to treat as absent (federation.lacks).
	site.SplitSpec
	// Standardize and Scale are the configuration's data settings.
	Standardize string            `json:"standardize"`
	Scale       map[string]string `json:"scale,omitempty"`
	// Preprocess is the fitted spectral preprocessing the client applies
	// to its samples before computing their moments.
	Preprocess []fdrmfl.Preprocessing `json:"preprocess,omitempty"`
	// Sums, if set, asks instead for the sum of the client's raw training
	// samples of one modality after a chain: the server fits an msc
	// reference (the federated mean spectrum) from them.
	Sums *SumRequest `json:"sums,omitempty"`
	// Describe asks for the description of the data and the sizes of the
	// sets alone, with no statistic: under secure aggregation the
	// statistics go through Secure.
	Describe bool `json:"describe,omitempty"`
	// Secure, if set, asks for the statistics — the moments, or the sums
	// Sums asks for, laid out as one vector by site.FlatMoments or
	// preprocess.FlatSum — as a party of one of the two aggregations of
	// fed.SecureFloats: the client answers with the protocol's first
	// message, and the server learns only the sum over the clients.
	Secure *fed.FloatStep `json:"secure,omitempty"`
}

// SumRequest asks a client for the sum of its training samples of
// Modality after the chain Prefix.
type SumRequest struct {
	Modality string           `json:"modality"`
	Prefix   preprocess.Chain `json:"prefix"`
}

// NewStatsRequest returns the request for the client numbered index
// (from 0) of the federation cfg describes. Call it on a Config after
// Defaults.
func NewStatsRequest(cfg fdrmfl.Config, index int) StatsRequest {
	return StatsRequest{SplitSpec: cfg.SplitSpec(index), Standardize: cfg.Data.Standardize, Scale: cfg.Data.Scale}
}

// StatsReply is a client's answer to a StatsRequest: a description of its
// data, the sizes of its sets, and the moments of its training set (none
// when the request asks for the description alone). No sample leaves the
// client.
type StatsReply struct {
	Source     string                `json:"source"`
	Modalities []fdrmfl.ModalityInfo `json:"modalities"`
	Responses  []string              `json:"responses"`
	Train      int                   `json:"train"`
	Val        int                   `json:"val"`
	Test       int                   `json:"test"`
	Moments    []site.Moments        `json:"moments"`
	// Sum and SumCount answer a SumRequest.
	Sum      []float64 `json:"sum,omitempty"`
	SumCount int       `json:"sum_count,omitempty"`
}

// Plan is the payload of a fed.Setup task: everything a client needs to
// train — the model's manifest (network, training settings, pooled
// standardisation, seed) and its own StatsRequest, so that a client that
// restarted can split its data again.
type Plan struct {
	// Federation identifies the federation (the server draws it once and
	// keeps it across restarts), so that a client keeps its state apart
	// from an earlier federation's.
	Federation string           `json:"federation"`
	Manifest   *fdrmfl.Manifest `json:"manifest"`
	Stats      StatsRequest     `json:"stats"`
}

// PlanFederation turns the clients' answers to the stats phase, in client
// order, into the federation's model: the network cfg describes completed
// for the clients' data, with the standardisation pooled from their
// moments (the simulation's arithmetic, in the same order). One client
// cannot stop the federation nor poison its standardisation: a reply
// that describes other data than the majority's, or whose statistics
// site.Screen finds impossible or standing out from the others'
// (federation.stats_limit), is left out, and excluded maps its place in
// replies to the reason. Call it on a Config after Defaults.
func PlanFederation(cfg fdrmfl.Config, replies []StatsReply) (m *fdrmfl.Manifest, excluded map[int]string, err error) {
	if len(replies) == 0 {
		return nil, nil, errors.New("plan: no client statistics")
	}
	same, excluded := agree(replies)
	moments := make([][]site.Moments, len(same))
	declared := make([]int, len(same))
	for i, k := range same {
		moments[i], declared[i] = replies[k].Moments, replies[k].Train
	}
	out := site.Screen(moments, declared, cfg.Federation.StatsLimit)
	var keep []StatsReply
	for i, k := range same {
		if why, bad := out[i]; bad {
			excluded[k] = why
			continue
		}
		keep = append(keep, replies[k])
	}
	if len(keep) == 0 {
		return nil, excluded, errors.New("plan: no client sent usable statistics")
	}
	parts := make([][]site.Moments, len(keep))
	for k, r := range keep {
		parts[k] = r.Moments
	}
	m, err = planFrom(cfg, keep[0], parts)
	return m, excluded, err
}

// agree returns the places of the replies that describe their data as
// most do (the first reply's description on a tie), and the reason each
// other reply is left out.
func agree(replies []StatsReply) (same []int, excluded map[int]string) {
	excluded = map[int]string{}
	count := map[string]int{}
	for _, r := range replies {
		count[describe(r)]++
	}
	want := describe(replies[0])
	for _, r := range replies {
		if d := describe(r); count[d] > count[want] {
			want = d
		}
	}
	for k, r := range replies {
		if d := describe(r); d != want {
			excluded[k] = fmt.Sprintf("describes its data as %s, the other clients as %s", d, want)
			continue
		}
		same = append(same, k)
	}
	return same, excluded
}

// planFrom returns the federation's model for data described as first
// describes them, standardised with the pooled sum of parts (one client's
// statistics each, or one sum of them). Call it on a Config after Defaults.
func planFrom(cfg fdrmfl.Config, first StatsReply, parts [][]site.Moments) (*fdrmfl.Manifest, error) {
	schema, err := layoutOf(first)
	if err != nil {
		return nil, err
	}
	if _, err := scaleModes(cfg, schema); err != nil {
		return nil, err
	}
	std, err := site.Pooled(first.Responses, parts)
	if err != nil {
		return nil, err
	}
	cfg.Data.Source = first.Source
	return fdrmfl.NewManifest(cfg, schema, std)
}

// scaleModes returns data.scale's mode of each modality, checking that
// the data have every modality it names.
func scaleModes(cfg fdrmfl.Config, schema *data.Dataset) (map[string]data.Mode, error) {
	modes, err := site.ScaleModes(cfg.Data.Scale)
	if err != nil {
		return nil, err
	}
	for name := range modes {
		if schema.Modality(name) == nil {
			return nil, fmt.Errorf("data.scale: the data have no modality %q", name)
		}
	}
	return modes, nil
}

// layoutOf returns an empty dataset with the modalities and responses a
// client describes.
func layoutOf(r StatsReply) (*data.Dataset, error) {
	var mods []data.Modality
	for _, mi := range r.Modalities {
		mods = append(mods, data.Modality{Name: mi.Name, Kind: mi.Kind, Shape: slices.Clone(mi.Shape)})
	}
	ds, err := data.New(0, mods, slices.Clone(r.Responses), nil)
	if err != nil {
		return nil, fmt.Errorf("plan: the clients' data: %w", err)
	}
	return ds, nil
}

func describe(r StatsReply) string {
	s := r.Source + " data with"
	for _, m := range r.Modalities {
		s += fmt.Sprintf(" %s %v %v,", m.Name, m.Kind, m.Shape)
	}
	return fmt.Sprintf("%s responses %v", s, r.Responses)
}
