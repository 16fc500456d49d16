package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkOut refuses to write into out when it already holds files, unless
// force is set or out holds one of resumable (paths inside out whose
// presence means the command resumes an earlier run there: a server's
// checkpoint, a client's state). A file in place of the folder is refused
// always.
func checkOut(out string, force bool, resumable ...string) error {
	st, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("--out %s is a file, not a folder", out)
	}
	if force {
		return nil
	}
	for _, r := range resumable {
		if _, err := os.Stat(filepath.Join(out, r)); err == nil {
			return nil
		}
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("--out %s already holds %d entries (%s, …) from an earlier run; give another --out, or --force to write over them", out, len(entries), entries[0].Name())
	}
	return nil
}

// checkOutFile refuses to replace an existing file unless force is set.
func checkOutFile(path string, force bool) error {
	if path == "" || force {
		return nil
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("--out %s exists; give another --out, or --force to replace it", path)
	}
	return nil
}
