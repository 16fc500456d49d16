package deploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/deploy"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc"
	"github.com/fdrmfl/fdrmfl/internal/pki"
	"github.com/fdrmfl/fdrmfl/model"
)

// Embed a client in an application that holds its samples in memory, and
// run it against a server in the same process (plaintext on loopback, as
// a local test; a deployment gives both sides TLS settings instead).
func ExampleNewClient() {
	dir, _ := os.MkdirTemp("", "fdrmfl-deploy-example-")
	defer os.RemoveAll(dir)
	token := pki.Token()
	os.WriteFile(filepath.Join(dir, "client.token"), []byte(token), 0o600)
	study := fdrmfl.Config{
		Data:       fdrmfl.Data{Source: "csv"},
		Federation: fdrmfl.Federation{Clients: 1, Rounds: 2},
		Model:      model.Config{Features: 4},
	}

	srv, err := deploy.NewServer(deploy.ServerConfig{
		Study: study, Insecure: true, StateDir: filepath.Join(dir, "server"),
		Settings: deploy.ServerSettings{Clients: []deploy.MemberSpec{{Name: "lab-a", TokenSHA256: fedgrpc.HashToken(token)}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Run(context.Background(), lis)

	// The application's samples: 60 spectra of 50 channels and a response.
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := make([]float32, 60*50), make([]float32, 60)
	for i := range y {
		for j := range 50 {
			x[i*50+j] = float32(rng.NormFloat64())
		}
		y[i] = x[i*50] + x[i*50+7]
	}
	ds, err := data.New(60, []data.Modality{{Name: "spectrum", Kind: data.Signal, Shape: []int{1, 50}, Data: x}}, []string{"y"}, y)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := deploy.NewClient(deploy.ClientConfig{
		Study: study, Data: ds, Insecure: true, StateDir: filepath.Join(dir, "client"),
		Settings: deploy.ClientSettings{Name: "lab-a", Server: lis.Addr().String(), TokenFile: filepath.Join(dir, "client.token")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d test samples, %d features each\n", c.Name(), res.Test.N, res.Manifest.Model.Features)
	// Output:
	// lab-a: 12 test samples, 4 features each
}
