package disk

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestDamagedFilesAreRefused cuts and flips a sealed file: every damaged
// version is an ErrCorrupt, never a wrong value.
func TestDamagedFilesAreRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck")
	want := map[string][]float32{"w": {1, 2, 3}}
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	var got map[string][]float32
	if found, err := Load(path, &got); !found || err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("load: %v %v %v", got, found, err)
	}
	damaged := map[string][]byte{
		"empty":       {},
		"truncated":   good[:len(good)-1],
		"half":        good[:len(good)/2],
		"flipped bit": append(append([]byte(nil), good[:40]...), append([]byte{good[40] ^ 1}, good[41:]...)...),
		"extra byte":  append(append([]byte(nil), good...), 0),
	}
	for name, b := range damaged {
		os.WriteFile(path, b, 0o600)
		if _, err := Load(path, &got); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	if found, err := Load(filepath.Join(t.TempDir(), "none"), &got); found || err != nil {
		t.Fatalf("missing file: found %v, %v", found, err)
	}
}

// clientState has the shape of a client's training state: nested maps,
// vectors and a slice of vectors.
type clientState struct {
	Kind    string
	Numbers map[string]float64
	Vectors map[string][]float32
	Prev    []float32
	Globals [][]float32
}

// TestStoreKeepsClientState saves a client's state and reads it back.
func TestStoreKeepsClientState(t *testing.T) {
	s := &Store[clientState]{Dir: t.TempDir()}
	st := &clientState{
		Kind: "adam", Numbers: map[string]float64{"step": 12}, Vectors: map[string][]float32{"m": {0.5, -1}},
		Prev:    []float32{1, 2, 3},
		Globals: [][]float32{{4, 5, 6}},
	}
	if err := s.Save("client-1", st); err != nil {
		t.Fatal(err)
	}
	got, err := (&Store[clientState]{Dir: s.Dir}).Load("client-1")
	if err != nil || !reflect.DeepEqual(got, st) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if fresh, err := s.Load("client-2"); err != nil || fresh.Prev != nil {
		t.Fatalf("a client without state: %+v, %v", fresh, err)
	}
	if err := s.Save("../evil", st); err == nil {
		t.Fatal("a client name with a path was accepted")
	}
}
