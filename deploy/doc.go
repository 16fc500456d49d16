// Package deploy runs a real federation: a Server process that holds no
// data, and one Client process per site that holds its own, talking the
// federation protocol over gRPC with TLS (package fed/fedgrpc).
//
// A federation starts with a statistics phase: the server sends each
// client a StatsRequest, each client answers with a StatsReply (a
// description of its data and the moments of its training set, never a
// sample), and the server plans the model from the replies
// (PlanFederation) and hands every client the Plan. Under secure
// aggregation a client sends only the description in the clear; its
// moments (and its sums of spectra for msc references) reach the server
// as part of a secure sum (fed.SecureFloats), so the server plans from
// sums alone. Training then runs
// round by round with the strategy the configuration names, exactly as
// fdrmfl.Simulate runs it, so that the same data and seed give the same
// model. The server checkpoints after every round and resumes from its
// checkpoint; a client keeps its training state on disk and rejoins
// where it was.
//
// Configuration in, a running participant out: NewServer and NewClient
// take the study (an fdrmfl.Config) and the server's or client's
// settings, and Run takes part until the federation is done. Files other
// than state — the model, metrics, features — are the caller's: Run
// returns the result and calls the hooks the caller gives.
package deploy
