// Package fedpb holds the generated Go code of the federation protocol
// fdrmfl.fed.v1 (fed.proto beside it). Regenerate it with "go generate"
// after installing the generators at the versions recorded in
// docs/decisions/0005-grpc-transport.md:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
package fedpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative fed.proto
