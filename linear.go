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
// with fewer than 2·Folds training rows sends fewer folds. Folds = 1
// makes each client send the statistics of its whole training set only:
// less revealed, a fifth of the bytes of 5 folds.
type Linear struct {
	// Components fixes the number of PLS components (0: chosen by
	// cross-validation among 1..MaxComponents).
	Components int `yaml:"components,omitempty" json:"components,omitempty"`
	// MaxComponents bounds the PLS choice (default 30; never more than the
	// training rows and inputs allow).
	MaxComponents int `yaml:"max_components,omitempty" json:"max_components,omitempty"`
	// Folds is the number of cross-validation folds per client (default
	// 5; ridge 1). With 1 each client sends the statistics of its whole
	// training set only: the settings must then be fixed, except ridge's
	// α, which generalised cross-validation chooses from the totals
	// (exact, a fifth of the bytes of 5 folds, and no fold statistics of
	// few rows); with 2 or more ridge chooses α by k-fold cross-validation
	// as the others do.
	Folds int `yaml:"folds,omitempty" json:"folds,omitempty"`
	// Alphas are the penalties α that ridge, the lasso and the elastic net
	// choose among (one value fixes it). The penalty applies to the
	// inputs as standardised by data.scale and to the standardised
	// responses, in scikit-learn's conventions: ridge minimises
	// Σ‖y − b0 − Bᵀx‖² + α‖B‖² (Ridge), the elastic net
	// (1/2n)·Σ(y − b0 − wᵀx)² + α·ρ·‖w‖₁ + α·(1−ρ)/2·‖w‖² (ElasticNet; the
	// lasso ρ = 1). Empty: for ridge with k-fold cross-validation a grid
	// fitted to the data (AlphaGrid: tr(Sxx)·10^e, e = −6, −5.5, …, 0),
	// with one fold baseline's GCV grid (81 values λ₁·10^e, e from −7 to
	// 1); for the lasso and the elastic net the path of 100 values from
	// the smallest α that keeps every coefficient 0 down to a thousandth
	// of it (ElasticNetCV's).
	Alphas []float64 `yaml:"alphas,omitempty" json:"alphas,omitempty"`
	// L1Ratios are the elastic net's shares of L1 in its penalty to
	// choose among, each in (0, 1] (empty: 0.1, 0.5, 0.9, 1).
	L1Ratios []float64 `yaml:"l1_ratios,omitempty" json:"l1_ratios,omitempty"`
}

// defaults returns l with the defaults of kind filled in.
func (l Linear) defaults(kind string) Linear {
	if l.Folds == 0 {
		l.Folds = 5
		if kind == KindRidge {
			l.Folds = 1 // α by generalised cross-validation from the totals
		}
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
	// With one fold there is nothing to cross-validate: the settings must
	// be fixed, except ridge's α, which generalised cross-validation
	// chooses from the totals.
	fixed := kind == KindRidge || (kind == KindPLS && l.Components > 0) || (kind != KindPLS && len(l.Alphas) == 1 && (kind != KindENet || len(l.L1Ratios) == 1))
	switch {
	case l.Folds < 1:
		return fmt.Errorf("linear.folds: %d must be at least 1", l.Folds)
	case l.Folds == 1 && !fixed:
		what := "one value in linear.alphas"
		switch kind {
		case KindPLS:
			what = "linear.components"
		case KindENet:
			what = "one value in linear.alphas and in linear.l1_ratios"
		}
		return fmt.Errorf("linear.folds: 1 leaves nothing to choose the settings by; fix them (%s) or use 2 folds or more", what)
	}
	if c.Privacy.DP.Level != "" && c.Privacy.DP.Level != "none" {
		return fmt.Errorf("privacy.dp: differential privacy applies to the %s network's training; model.kind %s is fitted from summed statistics, which privacy.secure_aggregation hides from the server, but which this version does not noise: remove privacy.dp", KindFDRMFL, kind)
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
