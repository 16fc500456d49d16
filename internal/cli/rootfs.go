package cli

import (
	"io/fs"
	"os"
)

// rootFS opens paths as the operating system does (relative to the
// working directory, or absolute), for readers that take an fs.FS.
type rootFS struct{}

func (rootFS) Open(name string) (fs.File, error) { return os.Open(name) }
