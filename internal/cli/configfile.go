package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fdrmfl/fdrmfl"
)

// loadConfig reads a YAML configuration. Unknown keys and values of the
// wrong type are errors naming the file, line, key and what is allowed.
// A relative data root is resolved against the file's folder.
func loadConfig(path string) (fdrmfl.Config, error) {
	var cfg fdrmfl.Config
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	if err := parseConfig(path, b, &cfg); err != nil {
		return cfg, err
	}
	cfg.Data.Root = dataRoot(path, cfg.Data)
	return cfg, nil
}

// dataRoot resolves the folder of a configuration's CSV files: relative to
// the configuration file's folder (the folder itself when unset), made
// absolute so that the configuration a run writes beside its results still
// finds the files.
func dataRoot(path string, d fdrmfl.Data) string {
	if (d.Source != "csv" && d.Root == "") || filepath.IsAbs(d.Root) {
		return d.Root
	}
	root := filepath.Join(filepath.Dir(path), d.Root)
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return root
}

func parseConfig(name string, b []byte, cfg any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file: every default
	}
	if err := checkKeys(name, doc.Content[0], reflect.TypeOf(cfg), ""); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

// checkKeys walks a YAML mapping beside the Go type it decodes into and
// reports the first key the type does not have.
func checkKeys(file string, n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		keys := map[string]reflect.Type{}
		var allowed []string
		var collect func(t reflect.Type)
		collect = func(t reflect.Type) {
			for i := range t.NumField() {
				f := t.Field(i)
				tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if opts == "inline" && f.Type.Kind() == reflect.Struct {
					collect(f.Type) // an embedded section: its keys are ours
					continue
				}
				if tag == "" || tag == "-" || !f.IsExported() {
					continue
				}
				keys[tag] = f.Type
				allowed = append(allowed, tag)
			}
		}
		collect(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := keys[k.Value]
			if !ok {
				where := "the top level"
				if path != "" {
					where = path
				}
				slices.Sort(allowed)
				return fmt.Errorf("%s: line %d: unknown key %q in %s (allowed: %s)", file, k.Line, k.Value, where, strings.Join(allowed, ", "))
			}
			if err := checkKeys(file, v, ft, join(path, k.Value)); err != nil {
				return err
			}
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			if err := checkKeys(file, c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(file, n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
