package strategy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// FitExtra is what a drift-control strategy sends with a fit task, and
// what the client sends back with its weights, in the task's and the
// update's Payload: for SCAFFOLD the server's control variate c (task)
// and the change of the client's own control variate Δc_i (update); for
// FedDyn the weight α of the dynamic regulariser (task).
type FitExtra struct {
	Method  string    // "scaffold" or "feddyn"
	Alpha   float64   // FedDyn's α
	Control []float32 // SCAFFOLD's c (task) or Δc_i (update)
}

// extraMagic starts every encoded FitExtra (format version 1).
const extraMagic = "FDX1"

// MarshalBinary encodes e: the magic "FDX1", the method's length (one
// byte) and name, α (float64), the number of control values (uint64) and
// the values (float32), all little-endian.
func (e FitExtra) MarshalBinary() ([]byte, error) {
	if len(e.Method) > 255 {
		return nil, fmt.Errorf("fit extra: method name of %d bytes", len(e.Method))
	}
	b := make([]byte, 0, len(extraMagic)+1+len(e.Method)+16+4*len(e.Control))
	b = append(b, extraMagic...)
	b = append(b, byte(len(e.Method)))
	b = append(b, e.Method...)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Alpha))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(e.Control)))
	for _, v := range e.Control {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, refusing truncated or
// padded input and values that are not finite.
func (e *FitExtra) UnmarshalBinary(b []byte) error {
	if len(b) < len(extraMagic)+1 || string(b[:len(extraMagic)]) != extraMagic {
		return errors.New("fit extra: not an FDX1 payload")
	}
	b = b[len(extraMagic):]
	nm := int(b[0])
	b = b[1:]
	if len(b) < nm+16 {
		return errors.New("fit extra: truncated")
	}
	method := string(b[:nm])
	b = b[nm:]
	alpha := math.Float64frombits(binary.LittleEndian.Uint64(b))
	n := binary.LittleEndian.Uint64(b[8:])
	b = b[16:]
	if n > uint64(len(b))/4 || uint64(len(b)) != 4*n {
		return fmt.Errorf("fit extra: %d bytes for %d control values", len(b), n)
	}
	if math.IsNaN(alpha) || math.IsInf(alpha, 0) {
		return fmt.Errorf("fit extra: α is %v", alpha)
	}
	var ctl []float32
	if n > 0 {
		ctl = make([]float32, n)
		for i := range ctl {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			if v-v != 0 {
				return fmt.Errorf("fit extra: control value %d is %v", i, v)
			}
			ctl[i] = v
		}
	}
	*e = FitExtra{Method: method, Alpha: alpha, Control: ctl}
	return nil
}
