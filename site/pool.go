package site

import (
	"context"

	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/nn"
	"github.com/fdrmfl/fdrmfl/train"
)

// TrainerPool lends Trainers to clients, making at most Size of them, so
// that a thousand clients share a handful of networks.
type TrainerPool struct {
	free   chan *train.Trainer
	made   chan struct{}
	mcfg   model.Config
	tcfg   train.Config
	layout []nn.Entry[float32]
}

// NewTrainerPool returns a pool of at most size trainers of the network
// mcfg trained as tcfg says.
func NewTrainerPool(mcfg model.Config, tcfg train.Config, size int) (*TrainerPool, error) {
	p := &TrainerPool{mcfg: mcfg, tcfg: tcfg, free: make(chan *train.Trainer, size), made: make(chan struct{}, size)}
	t, err := p.get(context.Background()) // fail early on a bad configuration
	if err != nil {
		return nil, err
	}
	p.layout = t.Layout()
	p.put(t)
	return p, nil
}

// Layout lists the tensors of the pool's network in the order of its
// flat weight vector.
func (p *TrainerPool) Layout() []nn.Entry[float32] { return p.layout }

func (p *TrainerPool) get(ctx context.Context) (*train.Trainer, error) {
	select {
	case t := <-p.free:
		return t, nil
	default:
	}
	select {
	case t := <-p.free:
		return t, nil
	case p.made <- struct{}{}:
		return train.New(p.mcfg, p.tcfg)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *TrainerPool) put(t *train.Trainer) { p.free <- t }
