package experiment_test

import "github.com/fdrmfl/fdrmfl/data"

func dataSpec(name, file, kind string) data.ModalitySpec {
	k, err := data.ParseKind(kind)
	if err != nil {
		panic(err)
	}
	return data.ModalitySpec{Name: name, File: file, Kind: k}
}
