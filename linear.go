package fdrmfl

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/model"
)

// Model kinds: what model.kind may name. The network is the default; the
// linear kinds are fitted exactly from the clients' summed sufficient
// statistics (package baseline), with their settings chosen by
// cross-validation over folds of every client's training rows.
const (
	KindFDRMFL = model.KindNetwork // the FDRMFL network
	KindPLS    = "pls"             // partial least squares (PLS1/PLS2); Z = the X-scores
	KindRidge  = "ridge"           // ridge regression; no Z beyond ŷ
	KindLasso  = "lasso"           // the lasso (L1 penalty); no Z beyond ŷ
	KindENet   = "enet"            // the elastic net (L1 and L2 penalties); no Z beyond ŷ
)

// Kinds lists every model.kind, the network first.
var Kinds = []string{KindFDRMFL, KindPLS, KindRidge, KindLasso, KindENet}

// IsLinearKind reports whether kind names one of the linear models.
func IsLinearKind(kind string) bool {
	switch kind {
	case KindPLS, KindRidge, KindLasso, KindENet:
		return true
	}
	return false
}

// IsLinear reports whether the configuration trains a linear model
// rather than the network.
func (c Config) IsLinear() bool { return IsLinearKind(c.Model.Kind) }

// Linear configures the fit of a linear model.kind. Each client cuts its
// training rows into Folds folds and sends the sufficient statistics of
// each; the server merges fold f of every client and scores each
// candidate by the pooled out-of-fold error (k-fold cross-validation
// stratified by client, exact from the statistics), then fits the best on
// everything. A fold never holds fewer than 2 rows of a client: a client
// with fewer than 2·Folds training rows sends fewer folds. With the
// settings fixed (Components, or one value in Alphas), Folds = 1 makes
// each client send the statistics of its whole training set only: no
// cross-validation, less revealed, a fifth of the bytes of 5 folds.
type Linear struct {
	// Components fixes the number of PLS components (0: chosen by
	// cross-validation among 1..MaxComponents).
	Components int `yaml:"components,omitempty" json:"components,omitempty"`
	// MaxComponents bounds the PLS choice (default 30; never more than the
	// training rows and inputs allow).
	MaxComponents int `yaml:"max_components,omitempty" json:"max_components,omitempty"`
	// Folds is the number of cross-validation folds per client (default
	// 5; 1 only with the settings fixed).
	Folds int `yaml:"folds,omitempty" json:"folds,omitempty"`
	// Alphas are the penalties α that ridge, the lasso and the elastic net
	// choose among (one value fixes it). Empty: a grid fitted to the data
	// (AlphaGrid), tr(Sxx)·10^e for e = −6, −5.5, …, 0, where tr(Sxx) is
	// the inputs' summed centred sums of squares over the pooled training
	// rows (for z-scored inputs, rows × inputs). The penalty applies to
	// the inputs as standardised by data.scale and to the standardised
	// responses: ridge minimises Σ‖y − b0 − Bᵀx‖² + α‖B‖².
	Alphas []float64 `yaml:"alphas,omitempty" json:"alphas,omitempty"`
	// L1Ratios are the elastic net's shares of L1 in its penalty to
	// choose among, each in (0, 1] (empty: 0.1, 0.5, 0.9, 1).
	L1Ratios []float64 `yaml:"l1_ratios,omitempty" json:"l1_ratios,omitempty"`
}

// defaults returns l with the defaults of kind filled in.
func (l Linear) defaults(kind string) Linear {
	if l.Folds == 0 {
		l.Folds = 5
	}
	if kind == KindPLS && l.MaxComponents == 0 && l.Components == 0 {
		l.MaxComponents = 30
	}
	if kind == KindENet && len(l.L1Ratios) == 0 {
		l.L1Ratios = []float64{0.1, 0.5, 0.9, 1}
	}
	return l
}

func (l Linear) isZero() bool {
	return l.Components == 0 && l.MaxComponents == 0 && l.Folds == 0 && len(l.Alphas) == 0 && len(l.L1Ratios) == 0
}

// checkKind reports an unknown model.kind, a kind this version cannot
// fit yet, linear settings that do not fit the kind, and network
// settings given to a linear kind.
func (c Config) checkKind() error {
	kind := c.Model.Kind
	switch {
	case kind == KindFDRMFL:
		if !c.Linear.isZero() {
			return fmt.Errorf("linear: applies to the linear model kinds (model.kind %s), not to the %s network", strings.Join(Kinds[1:], ", "), KindFDRMFL)
		}
		return nil
	case !IsLinearKind(kind):
		return fmt.Errorf("model.kind: %q is not one of %s", kind, strings.Join(Kinds, ", "))
	}
	if _, ok := linearFitters[kind]; !ok {
		var have []string
		for _, k := range Kinds[1:] {
			if _, ok := linearFitters[k]; ok {
				have = append(have, k)
			}
		}
		return fmt.Errorf("model.kind: %s is not available yet in this version (it fits %s and the %s network)", kind, strings.Join(have, ", "), KindFDRMFL)
	}
	m := c.Model
	network := []struct {
		key string
		set bool
	}{
		{"model.latent", m.Latent != 0},
		{"model.features", m.Features != 0},
		{"model.fusion", m.Fusion.Type != "" || len(m.Fusion.Hidden) > 0 || m.Fusion.BatchNorm || m.Fusion.Heads != 0 || m.Fusion.Activation != ""},
		{"model.head", len(m.Head.Hidden) > 0 || m.Head.Dropout != 0},
		{"model.learned_sigma", m.LearnedSigma},
	}
	var set []string
	for _, n := range network {
		if n.set {
			set = append(set, n.key)
		}
	}
	if len(set) > 0 {
		hint := ""
		if kind == KindPLS && slices.Contains(set, "model.features") {
			hint = " (the number of PLS components is linear.components)"
		}
		return fmt.Errorf("%s: %s to the %s network, not to model.kind %s; remove %s%s", strings.Join(set, ", "),
			map[bool]string{true: "apply", false: "applies"}[len(set) > 1], KindFDRMFL, kind, map[bool]string{true: "them", false: "it"}[len(set) > 1], hint)
	}
	for i, mm := range m.Modalities {
		if mm.Encoder.Type != "" || len(mm.Encoder.Hidden) > 0 || len(mm.Encoder.Channels) > 0 {
			return fmt.Errorf("model.modalities[%d].encoder: a linear model (model.kind %s) has no encoders; list modalities by name only to choose its inputs", i, kind)
		}
	}
	l := c.Linear
	fixed := (kind == KindPLS && l.Components > 0) || (kind != KindPLS && len(l.Alphas) == 1 && (kind != KindENet || len(l.L1Ratios) == 1))
	switch {
	case l.Folds < 1:
		return fmt.Errorf("linear.folds: %d must be at least 1", l.Folds)
	case l.Folds == 1 && !fixed:
		return fmt.Errorf("linear.folds: 1 leaves nothing to choose the settings by; fix them (%s) or use 2 folds or more", map[bool]string{true: "linear.components", false: "one value in linear.alphas"}[kind == KindPLS])
	}
	if kind != KindPLS && (l.Components != 0 || l.MaxComponents != 0) {
		return fmt.Errorf("linear.components, linear.max_components: apply to model.kind pls, not %s", kind)
	}
	if kind == KindPLS {
		if l.Components < 0 {
			return fmt.Errorf("linear.components: %d must not be negative (0: chosen by cross-validation)", l.Components)
		}
		if l.Components == 0 && l.MaxComponents < 1 {
			return fmt.Errorf("linear.max_components: %d must be at least 1", l.MaxComponents)
		}
		if len(l.Alphas) > 0 {
			return fmt.Errorf("linear.alphas: apply to model.kind ridge, lasso and enet, not pls")
		}
	}
	for _, a := range l.Alphas {
		if !(a > 0) || math.IsInf(a, 0) {
			return fmt.Errorf("linear.alphas: %v is not a positive number", a)
		}
	}
	if kind != KindENet && len(l.L1Ratios) > 0 {
		return fmt.Errorf("linear.l1_ratios: apply to model.kind enet, not %s", kind)
	}
	for _, r := range l.L1Ratios {
		if !(r > 0 && r <= 1) {
			return fmt.Errorf("linear.l1_ratios: %v is not in (0, 1]", r)
		}
	}
	return nil
}
