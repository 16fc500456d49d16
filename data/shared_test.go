package data

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/fdrmfl/fdrmfl/internal/shareddata"
)

// sharedData returns the project's shared data folder, ../shared/data
// beside the module root (see shareddata.Dir for when it is missing).
func sharedData(t testing.TB) fs.FS { return os.DirFS(shareddata.Dir(t)) }

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
