package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/fdrmfl/fdrmfl/experiment"
)

// studyStore keeps a reproduce run's finished repetitions in
// out/units/, one JSON file each, written as each repetition ends, and
// the run's settings fingerprint in out/study.json, so that a stopped run
// can be resumed with the same settings.
type studyStore struct {
	dir   string
	mu    sync.Mutex
	units map[experiment.Unit]experiment.UnitResults
	added int
}

type studyFile struct {
	Fingerprint string `json:"fingerprint"`
}

// openStudy prepares out for a run with the given settings: a new run
// needs an empty folder (or force, which removes the earlier
// repetitions); resume needs the earlier run's settings and loads its
// repetitions.
func openStudy(out, fingerprint string, resume, force bool) (*studyStore, error) {
	s := &studyStore{dir: filepath.Join(out, "units"), units: map[experiment.Unit]experiment.UnitResults{}}
	meta := filepath.Join(out, "study.json")
	if resume {
		b, err := os.ReadFile(meta)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("--resume: %s has no run to resume (no study.json)", out)
		}
		if err != nil {
			return nil, err
		}
		var f studyFile
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", meta, err)
		}
		if f.Fingerprint != fingerprint {
			return nil, fmt.Errorf("--resume: the run in %s had other settings (experiments, splits, seeds, clients, methods or FDRMFL configuration); resume it with the same command, or start afresh with --force", out)
		}
		entries, err := os.ReadDir(s.dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range entries {
			if filepath.Ext(e.Name()) != ".json" {
				continue
			}
			path := filepath.Join(s.dir, e.Name())
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			var r experiment.UnitResults
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, fmt.Errorf("%s: %w (remove it to run that repetition again)", path, err)
			}
			s.units[r.Unit] = r
		}
		return s, nil
	}
	if err := checkOut(out, force); err != nil {
		return nil, err
	}
	if force {
		if err := os.RemoveAll(s.dir); err != nil {
			return nil, err
		}
	}
	if err := writeJSON(meta, studyFile{Fingerprint: fingerprint}); err != nil {
		return nil, err
	}
	return s, nil
}

// done returns a repetition finished before.
func (s *studyStore) done(u experiment.Unit) (experiment.UnitResults, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.units[u]
	return r, ok
}

// save writes a finished repetition.
func (s *studyStore) save(r experiment.UnitResults) error {
	u := r.Unit
	name := fileName(u.Experiment+"_"+u.Task+"_"+u.Split+"_seed") + strconv.Itoa(u.Seed) + ".json"
	if err := writeJSON(filepath.Join(s.dir, name), r); err != nil {
		return err
	}
	s.mu.Lock()
	s.units[u] = r
	s.added++
	s.mu.Unlock()
	return nil
}

// saved returns the number of repetitions on disk.
func (s *studyStore) saved() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.units)
}
