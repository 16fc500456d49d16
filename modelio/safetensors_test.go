package modelio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/nn"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	in := []Tensor{
		{Name: "a.weight", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, -6}},
		{Name: "a.bias", Shape: []int{3}, Data: []float32{0.5, 0.25, -1}},
		{Name: "scalar", Shape: []int{}, Data: []float32{7}},
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if hl := binary.LittleEndian.Uint64(buf.Bytes()); hl%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", hl)
	}
	out, meta, err := ReadSafetensors(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata lost: %v", meta)
	}
	if len(out) != len(in) {
		t.Fatalf("read %d tensors, wrote %d", len(out), len(in))
	}
	for i := range in {
		if out[i].Name != in[i].Name || !equalInts(out[i].Shape, in[i].Shape) || !equalF(out[i].Data, in[i].Data) {
			t.Errorf("tensor %d: got %+v, want %+v", i, out[i], in[i])
		}
	}
}

func TestSafetensorsRejectsCorruptFiles(t *testing.T) {
	var good bytes.Buffer
	if err := WriteSafetensors(&good, []Tensor{{Name: "w", Shape: []int{2}, Data: []float32{1, 2}}}, nil); err != nil {
		t.Fatal(err)
	}
	b := good.Bytes()
	huge := make([]byte, 8)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "header length"},
		{"huge header", huge, "exceeds"},
		{"truncated header", b[:12], "header"},
		{"truncated data", b[:len(b)-3], "byte range"},
		{"trailing bytes", append(append([]byte(nil), b...), 0, 0, 0, 0), "after the last tensor"},
		{"bad json", append(append([]byte(nil), b[:8]...), bytes.Repeat([]byte("{"), int(binary.LittleEndian.Uint64(b)))...), "JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadSafetensors(bytes.NewReader(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func FuzzReadSafetensors(f *testing.F) {
	var good bytes.Buffer
	_ = WriteSafetensors(&good, []Tensor{{Name: "w", Shape: []int{2, 1}, Data: []float32{1, 2}}}, map[string]string{"k": "v"})
	f.Add(good.Bytes())
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, _, err := ReadSafetensors(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteSafetensors(&buf, ts, nil); err != nil {
			t.Fatalf("read tensors do not write back: %v", err)
		}
	})
}

func TestLoadStateChecksNamesAndShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	model := nn.NewSequential[float32](nn.NewDense[float32](3, 2, true, r), nn.NewBatchNorm[float32](2))
	st := nn.Bind[float32](model)
	var buf bytes.Buffer
	if err := SaveState(&buf, st, nil); err != nil {
		t.Fatal(err)
	}
	saved := append([]float32(nil), st.Values...)
	clear(st.Values)
	if _, err := LoadState(bytes.NewReader(buf.Bytes()), st, false); err != nil {
		t.Fatal(err)
	}
	if !equalF(st.Values, saved) {
		t.Fatal("values differ after a save and load")
	}

	other := nn.Bind[float32](nn.NewSequential[float32](nn.NewDense[float32](4, 2, true, r)))
	before := append([]float32(nil), other.Values...)
	_, err := LoadState(bytes.NewReader(buf.Bytes()), other, false)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "0.weight") || !strings.Contains(err.Error(), "[2 3]") {
		t.Fatalf("error %v, want a shape mismatch naming 0.weight and [2 3]", err)
	}
	if !equalF(other.Values, before) {
		t.Fatal("a failed load changed the model")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalF(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
