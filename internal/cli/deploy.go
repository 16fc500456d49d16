package cli

import (
	"log/slog"
	"os"
	"path/filepath"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/deploy"
)

// This file holds what "fdrmfl server" and "fdrmfl client" share: their
// configuration files.

// serverFile is the server's configuration: the study, as for simulate
// (the server reads no data: data only gives the split fractions and
// scaling), and a server section.
type serverFile struct {
	fdrmfl.Config `yaml:",inline"`
	Server        deploy.ServerSettings `yaml:"server"`
}

// clientFile is a client's configuration: where its data are (the data
// section, as for simulate) and a client section.
type clientFile struct {
	fdrmfl.Config `yaml:",inline"`
	Client        deploy.ClientSettings `yaml:"client"`
}

// readFile reads a configuration file into v, resolving the data root
// against the file's folder.
func readFile(path string, v any, cfg *fdrmfl.Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := parseConfig(path, b, v); err != nil {
		return err
	}
	cfg.Data.Root = dataRoot(path, cfg.Data)
	return nil
}

// configDir is the folder a configuration file's relative paths start from.
func configDir(path string) string { return filepath.Dir(path) }

// newLogger returns a structured logger writing text lines to w.
func newLogger(w interface{ Write([]byte) (int, error) }, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
