package site

import (
	"sync"

	"github.com/fdrmfl/fdrmfl/train"
)

// StateStore keeps each client's training state between rounds. A
// simulation with many clients can keep it on disk so that memory does
// not grow with the number of clients.
type StateStore interface {
	// Load returns the client's state, or a new empty state if none is stored.
	Load(client string) (*train.ClientState, error)
	// Save stores the client's state.
	Save(client string, s *train.ClientState) error
}

// MemoryStore is a StateStore in memory; the zero value is ready to use.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]*train.ClientState
}

// Load returns the stored state of client (the same pointer each time).
func (s *MemoryStore) Load(client string) (*train.ClientState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*train.ClientState{}
	}
	st, ok := s.m[client]
	if !ok {
		st = &train.ClientState{}
		s.m[client] = st
	}
	return st, nil
}

// Save stores the state of client.
func (s *MemoryStore) Save(client string, st *train.ClientState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*train.ClientState{}
	}
	s.m[client] = st
	return nil
}
