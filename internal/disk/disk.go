// Package disk keeps state that must survive a crash: files written
// atomically (a temporary file, fsync, rename, fsync of the folder) and
// sealed with a checksum, so that a partly written or damaged file is
// never taken for a good one; and Store, one value per client kept in
// such files.
package disk

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// magic starts every sealed file; the digit is the layout's version.
const magic = "FDRMFL-SEALED-1\n"

// ErrCorrupt is wrapped by the error of a sealed file that is truncated
// or fails its checksum.
var ErrCorrupt = errors.New("corrupt file")

// Seal frames payload: magic, its length, the payload and its SHA-256.
func Seal(payload []byte) []byte {
	b := make([]byte, 0, len(magic)+8+len(payload)+sha256.Size)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(payload)))
	b = append(b, payload...)
	sum := sha256.Sum256(payload)
	return append(b, sum[:]...)
}

// Unseal returns the payload of a sealed file, or an error wrapping
// ErrCorrupt.
func Unseal(b []byte) ([]byte, error) {
	if len(b) < len(magic)+8 || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a sealed fdrmfl file", ErrCorrupt)
	}
	n := binary.LittleEndian.Uint64(b[len(magic):])
	rest := b[len(magic)+8:]
	if n > uint64(len(rest)) || uint64(len(rest))-n != sha256.Size {
		return nil, fmt.Errorf("%w: %d bytes after the header, want %d + %d", ErrCorrupt, len(rest), n, sha256.Size)
	}
	payload, sum := rest[:n], rest[n:]
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return payload, nil
}

// WriteFile writes data to path atomically: readers see the old file or
// the new one, never a mix, even across a crash.
func WriteFile(path string, data []byte) error { return writeFile(path, data, true) }

func writeFile(path string, data []byte, durable bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync() // the rename itself is durable
}

// Save writes v, gob-encoded and sealed, to path atomically.
func Save(path string, v any) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := WriteFile(path, Seal(buf.Bytes())); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Load reads a file written by Save into v. It reports found = false,
// and no error, when there is no file.
func Load(path string, v any) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	payload, err := Unseal(b)
	if err != nil {
		return true, fmt.Errorf("%s: %w", path, err)
	}
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(v); err != nil {
		return true, fmt.Errorf("%s: %w: %v", path, ErrCorrupt, err)
	}
	return true, nil
}

// Store keeps one gob-encoded T per client in Dir/<client>.state: with T
// a client's training state, a client that restarts resumes with its
// optimiser state and previous model (Store[train.ClientState] is a
// site.StateStore). The zero value needs only Dir.
type Store[T any] struct {
	Dir string
	// Scratch skips the flushes to disk that make a state survive a
	// crash: for a simulation that keeps states on disk only to bound its
	// memory.
	Scratch bool
	mu      sync.Mutex
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func (s *Store[T]) path(client string) (string, error) {
	if !safeName.MatchString(client) || client == "." || client == ".." {
		return "", fmt.Errorf("client name %q cannot name a file", client)
	}
	return filepath.Join(s.Dir, client+".state"), nil
}

// Load returns the client's stored value, or a new zero one.
func (s *Store[T]) Load(client string) (*T, error) {
	p, err := s.path(client)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := new(T)
	if _, err := Load(p, st); err != nil {
		return nil, err
	}
	return st, nil
}

// Save stores the client's value.
func (s *Store[T]) Save(client string, st *T) error {
	p, err := s.path(client)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Scratch {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(st); err != nil {
			return fmt.Errorf("encoding %s: %w", p, err)
		}
		return writeFile(p, Seal(buf.Bytes()), false)
	}
	return Save(p, st)
}
