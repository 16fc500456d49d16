package data

import (
	"fmt"
	"strings"
)

// Kind is the kind of input a modality holds. It decides the rank of the
// modality's per-sample shape and, downstream, which encoder reads it.
// The zero Kind is Vector.
type Kind int

const (
	// Vector is a flat feature vector; per-sample shape [p].
	Vector Kind = iota
	// Signal is a 1-D signal such as a spectrum or a time series, stored
	// channel-major; per-sample shape [C, L]. A spectrum has C = 1.
	Signal
	// Image is a 2-D image; per-sample shape [C, H, W].
	Image
	// Sequence is a sequence of T steps of F features each, such as token
	// embeddings; per-sample shape [T, F].
	Sequence
)

var kindNames = [...]string{Vector: "vector", Signal: "signal", Image: "image", Sequence: "sequence"}

// String returns the kind's lower-case name: "vector", "signal", "image" or
// "sequence".
func (k Kind) String() string {
	if k.valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Rank returns the number of dimensions in a per-sample shape of this kind:
// 1 for Vector, 2 for Signal and Sequence, 3 for Image, 0 for an invalid kind.
func (k Kind) Rank() int {
	switch k {
	case Vector:
		return 1
	case Signal, Sequence:
		return 2
	case Image:
		return 3
	}
	return 0
}

func (k Kind) valid() bool { return k >= Vector && k <= Sequence }

// ParseKind returns the Kind named s, ignoring case: "vector", "signal",
// "image" or "sequence".
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if strings.EqualFold(s, name) {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown modality kind %q: want vector, signal, image or sequence", s)
}

// MarshalText encodes the kind as its name, so that JSON and YAML
// configuration files read "signal" rather than 1.
func (k Kind) MarshalText() ([]byte, error) {
	if !k.valid() {
		return nil, fmt.Errorf("invalid modality kind %d", int(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText decodes a kind name as ParseKind does.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}
