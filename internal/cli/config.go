package cli

import (
	"context"
	"fmt"
)

// defaultConfig is the configuration file format, with every key at its
// default. A test checks that it parses to the library's defaults.
const defaultConfig = `# fdrmfl configuration. Every key is optional; shown are the defaults of the
# built-in simulation. Where a CSV dataset (source: csv) has other defaults, the
# comment says so. Unknown keys and bad values are errors that name the key.
seed: 0                      # seeds data, splits, initialisation, shuffling, dropout

data:
  source: simulation         # simulation | csv
  function: 1                # simulation: 1 tanh, 2 softplus, 3 sech (method §5)
  samples: 2500              # simulation: samples drawn (the paper's 2000 + 500)
  # csv: root is the folder of the files, relative to this file; then either
  # preset: corn-p2 | corn-p1/<moisture|oil|protein|starch> | tecator-p1/<fat|water|protein> | tecator
  # or the files themselves:
  # modalities:
  #   - {name: m5, file: corn/m5.csv, kind: signal}        # vector | signal | image | sequence
  #   - {name: mp5, file: corn/mp5.csv, kind: signal, columns: [w1100, w1102]}
  #   - {name: nir, jcamp: [spectra/], kind: signal}       # JCAMP-DX files, folders or patterns,
  #                                                        # one spectrum per sample on one X axis
  #     jcamp_id: title      # a spectrum's sample ID: title (##TITLE) | file (its name)
  #     delimiter, decimal, id_column: as below, for this modality's file
  # response_file: corn/responses.csv  # empty, NA, N/A, NaN or ? is a missing response:
  #                                    # that sample is left out for that response
  # responses: [protein]     # default: every column but the ID (and split) column
  # rows: 1-27               # keep only these data rows of the first modality's file
  #                          # (1-based ranges, e.g. 1-20,41-47), before anything is checked
  # How the files are read; each is detected from the header and first lines when not set:
  # delimiter: ","           # , | ; | tab | whitespace
  # decimal: "."             # . | ,
  # id_column: sample        # the column of sample IDs, joining the files by ID (default: the
  #                          # first column, if named id/sample/sample_id/name or not numbers);
  #                          # none: the files are row-aligned
  # response_format: {id_column: code}  # the response file's own delimiter, decimal, id_column
  # replicates: mean         # average the rows that share a sample ID (default: an error)
  # missing_rows: absent     # a sample with no row in a modality's (or the response) file
  #                          # lacks that modality (or its responses) (default: an error)
  # split: {column: set}     # train | validation | test per sample, in the response file (or
  #                          # file: split.csv): a fixed split in place of test/val_fraction
  test_fraction: 0.2         # of each client's samples, held out for testing
  val_fraction: 0.1          # of the rest, for per-round validation (negative: none)
  standardize: federated     # federated (pooled statistics) | local (each client's own)
  # scale: {m5: global}      # per modality: per-feature (default) | global | none

federation:
  clients: 3
  rounds: 16                 # csv: 30
  partition: iid             # iid | response (bands of y) | dirichlet (client sizes)
  mix: 0                     # response: share of samples reassigned at random
  beta: 0.5                  # dirichlet: concentration
  min_size: 0                # dirichlet: fewest samples per client (0: 2)
  # lacks: {2: [mp6]}        # client number → modalities it does not have
  strategy: fedavg           # fedavg | fedprox | fedbn | scaffold | feddyn (drift control)
                             #   | fedavgm | fedadam | fedyogi | fedadagrad (server optimisers)
  smoothing: 0               # server β: w ← β·w + (1−β)·mean
  prox: 0                    # fedprox μ (0.01 when strategy is fedprox)
  # server_lr: 0             # server step η (fedavgm: 1 − server_momentum; fedadam, fedyogi,
  #                          #   fedadagrad: 0.01; scaffold: 1)
  # server_momentum: 0       # β₁ of the server optimisers (0.9)
  # server_beta2: 0          # β₂ of fedadam and fedyogi (0.99)
  # server_tau: 0            # τ, their adaptivity (1e-3)
  # dyn_alpha: 0             # feddyn α (0.01)
  fraction: 0                # share of clients per round (0: all)
  workers: 0                 # clients trained at once (0: all cores)
  keep_best: false           # return the round with the lowest validation error
  # Robustness (README "Robustness"): how one hostile client is kept from
  # wrecking or stalling the federation.
  aggregator: mean           # mean (streams) | median | trimmed-mean | krum | multi-krum | geomed | cc
  byzantine: 1               # f, hostile clients the robust aggregators tolerate (default ⌈clients/4⌉)
  trim: 0                    # trimmed-mean: share dropped at each end (0: f of the round's clients)
  clip: 2                    # cc: τ as a multiple of the median distance from the centre
  norm_bound: 4              # reject updates longer than 4× or shorter than 1/10 of the round's median (negative: off)
  direction: 0               # ρ: reject updates whose cosine with the median update is below ρ × the median cosine
                             #   (0: 0.5, off under secure aggregation; negative: off)
  direction_min: 8           # … in rounds of at least this many updates (smaller rounds go unchecked)
  stats_limit: 10            # leave out clients whose statistics stand out by more than this (negative: off)
  personalize: auto          # auto: a client deploys a personal head (a + b·ŷ fitted on its
                             #   held-out rows) when leave-one-out says it is better | off

model:
  kind: fdrmfl               # fdrmfl (the network) | pls | ridge | lasso | enet: linear models fitted
  #                          exactly from the clients' summed statistics (see linear below). For a
  #                          linear kind only modalities (by name: its inputs) apply.
  latent: 96                 # e, size of each modality's latent (csv: 32)
  features: 16               # d, size of the extracted features Z (csv: 8)
  # modalities:              # default: every modality, encoder by kind (vector, signal: linear,
  #                          i.e. mlp with hidden: []; image: conv2d; sequence: bilstm)
  #   - name: m5
  #     encoder: {type: conv1d, channels: [8, 16], kernels: [7, 5], strides: [2, 2], hidden: [128]}
  #   encoder types: mlp | conv1d | conv2d | resnet | bilstm | conv-bilstm
  fusion:
    type: weighted           # weighted | concat | attention
    hidden: [64]             # csv: [32]
    batch_norm: false
    heads: 4                 # attention
    activation: ""           # "" | relu | tanh, applied to Z
  head:
    hidden: [32]             # csv: [16]
    dropout: 0
  learned_sigma: false       # encoders emit log-variances (kl_form: learned)

# linear:                    # linear model kinds only: settings chosen by cross-validation over folds
#                            # of every client's training rows, from their statistics (no validation set
#                            # unless data.val_fraction asks for one; train, loss, rounds, privacy do not apply)
#   folds: 5                 # folds per client (ridge: 1; fewer for a client with fewer than 2 rows per
#                            # fold). 1: one block of statistics per client, no cross-validation: ridge
#                            # chooses alpha by generalised cross-validation, the others need fixed settings
#   components: 0            # pls: a fixed number of components (0: chosen by cross-validation)
#   max_components: 30       # pls: cross-validation tries 1..max_components
#   alphas: []               # ridge, lasso, enet: penalties to choose among (one value fixes alpha); default
#                            # ridge: 81 values by GCV (k-fold: tr(Sxx)·10^e, e = −6, −5.5, …, 0); lasso,
#                            # enet: the path of 100 from the smallest alpha with every coefficient 0
#   l1_ratios: [0.1, 0.5, 0.9, 1]   # enet: shares of L1 in the penalty

train:
  epochs: 1                  # local epochs per round (csv: 15)
  batch_size: 32             # csv: 16
  optimizer: adam            # adam | adamw | sgd
  lr: 0.001
  weight_decay: 0
  momentum: 0                # sgd
  clip_norm: 0               # gradient-norm clipping (0: none)
  l1: 0.1                    # L1 on the encoders' input weights, a proximal step (csv: 0; negative: off)
  group_lasso: 0             # group lasso per modality on the same weights: gates whole modalities
  schedule: ""               # "" | plateau
  # freeze: [encoders]       # parts local training leaves as they came: encoders | fusion | head

loss:                        # L = mse + mi·L_mi + kl·L_skl + con·L_con
  mi: 0.1                    # λ_mi: how much response information Z retains (csv: 0.01)
  kl: 0.01                   # λ_kl: alignment of the modality latents
  con: 0.01                  # λ_con: contrast against drift and forgetting
  tau: 0.5                   # contrastive temperature
  sigma: 0.1                 # fixed σ of the KL term
  kl_form: fixed             # fixed | learned
  mi_estimator: gaussian     # gaussian (learned projection) | correlation (the author's frozen random one; csv default)
  mi_hidden: 64
  phases: false              # the author's real-data phase weighting
  older_globals: 0           # older global models as extra contrastive negatives

init:                        # where training starts
  from: random               # random | pls | ridge | enet | linear (the best by federated CV):
                             #   a linear model fitted from summed statistics, mapped into the network
  components: 30             # pls: most components tried
  folds: 5                   # cross-validation folds per client
  subsets: false             # pls: also try every subset of the modalities

select:                      # model selection by federated validation (never the test rows)
  mode: auto                 # auto | kfold | holdout | validation | off; auto: validation with a
                             #   validation set, else kfold below 100 training rows a client, else holdout
  folds: 3                   # kfold, holdout (holdout keeps one fold out, then retrains on all)
  no_refit: false            # holdout: keep the model trained without the held-out fold
  # candidates: every combination of the lists given (empty: the value configured)
  # features: [4, 8]         # d
  # mi: [0, 0.01]            # λ_mi; also kl, con, l1, lr
  # freeze: [none, encoders]

privacy:                     # README, "Privacy": what the server, a client and an outsider learn
  secure_aggregation:        # the server learns only sums of updates and statistics (SecAgg+)
    enabled: false
    bits: 32                 # ring Z_2^bits of the summed updates (8..64)
    clip: 1                  # bound on each value of a client's weighted update ω·Δ
    neighbours: 0            # each client's neighbours (0: 2⌈log₂ n⌉; n−1: complete graph)
    threshold: 0             # of each neighbourhood's k+1 clients, how many must stay (0: ⌊(k+1)/2⌋+1)
  dp:
    level: ""                # "" (none) | client (DP-FedAvg: a client's whole data is protected)
                             # | sample (DP-SGD on every client: one sample is protected; needs loss.mi: 0)
    epsilon: 0               # budget: training stops before passing it; with noise 0, sets the noise
    delta: 1e-05
    noise: 0                 # noise multiplier z (noise std z·clip)
    clip: 0.1                # L2 bound of a client's update (the start when adaptive); sample: of a gradient (1)
    adaptive: false          # the bound follows a quantile of update norms (Andrew et al. 2021)
    quantile: 0.5
    clip_lr: 0.2
    count_noise: 0           # std of the noise on the clipped count (0: clients per round / 20)
    noise_at: server         # server | clients (each client adds its share; needs secure_aggregation)

# study:                     # fdrmfl reproduce --config only: repeated splits of your own data
#   name: custom             # the experiment's name in the tables
#   splits: [iid, response]  # iid | response (each client a band of the response)
#   seeds: 10                # repetitions per split
#   clients: 3
#   test_fraction: 0.2       # of each client's samples
`

func runConfig(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "config", "", "Prints the configuration file format with every key at its default.")
	if err := parse(fs, args); err != nil {
		return err
	}
	_, err := fmt.Fprint(e.stdout, defaultConfig)
	return err
}
