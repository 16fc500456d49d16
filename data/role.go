package data

import (
	"fmt"
	"strings"
)

// Role is the set a fixed split puts a sample in: the training set, the
// validation set (checked after every federated round) or the test set.
type Role uint8

const (
	// RoleTrain is a training sample.
	RoleTrain Role = iota
	// RoleVal is a validation sample.
	RoleVal
	// RoleTest is a test sample.
	RoleTest
)

var roleNames = [...]string{RoleTrain: "train", RoleVal: "validation", RoleTest: "test"}

// String returns "train", "validation" or "test".
func (r Role) String() string {
	if r.valid() {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

func (r Role) valid() bool { return r <= RoleTest }

// ParseRole reads a split label, ignoring case and surrounding blanks:
// train, training, calibration or cal; validation, val or valid; test or
// testing.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "train", "training", "calibration", "cal":
		return RoleTrain, nil
	case "validation", "val", "valid":
		return RoleVal, nil
	case "test", "testing":
		return RoleTest, nil
	}
	return 0, fmt.Errorf("split label %q: want train, validation or test", s)
}
