package onnx

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The messages of onnx.proto3 that an exported model uses, written with
// protowire. Field numbers are those of
// https://github.com/onnx/onnx/blob/v1.13.0/onnx/onnx.proto3 (protobuf
// field numbers never change, so the subset stays valid for every later
// ONNX version). Only fields that are set are written.

// Tensor element types (TensorProto.DataType).
const (
	elemFloat = 1
	elemInt64 = 7
	elemBool  = 9
)

// Attribute types (AttributeProto.AttributeType).
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrInts   = 7
)

type attribute struct {
	name string
	typ  int
	f    float32
	i    int64
	s    string
	ints []int64
}

type node struct {
	op      string
	inputs  []string
	outputs []string
	name    string
	attrs   []attribute
}

// tensorProto is a dense initializer; data holds the little-endian bytes.
type tensorProto struct {
	name     string
	dims     []int64
	elemType int
	data     []byte
}

// dim is a value-info dimension: a size, or a named symbolic one.
type dim struct {
	value int64
	param string
}

type valueInfo struct {
	name     string
	elemType int
	dims     []dim
	doc      string
}

type graphProto struct {
	name    string
	doc     string
	nodes   []node
	inits   []tensorProto
	inputs  []valueInfo
	outputs []valueInfo
}

type modelProto struct {
	irVersion       int64
	opsetVersion    int64
	producerName    string
	producerVersion string
	doc             string
	graph           graphProto
	metadata        [][2]string
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, num protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func (a attribute) marshal() []byte {
	b := appendString(nil, 1, a.name)
	switch a.typ {
	case attrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case attrInt:
		b = appendVarint(b, 3, a.i)
	case attrString:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, a.s)
	case attrInts:
		var packed []byte
		for _, v := range a.ints {
			packed = protowire.AppendVarint(packed, uint64(v))
		}
		b = appendMessage(b, 8, packed)
	}
	return appendVarint(b, 20, int64(a.typ))
}

func (n node) marshal() []byte {
	var b []byte
	for _, s := range n.inputs {
		// An empty input name is a skipped optional input; it must be kept
		// to hold the position of the inputs after it.
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.outputs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendString(b, 3, n.name)
	b = appendString(b, 4, n.op)
	for _, a := range n.attrs {
		b = appendMessage(b, 5, a.marshal())
	}
	return b
}

func (t tensorProto) marshal() []byte {
	var b []byte
	if len(t.dims) > 0 {
		var packed []byte
		for _, d := range t.dims {
			packed = protowire.AppendVarint(packed, uint64(d))
		}
		b = appendMessage(b, 1, packed)
	}
	b = appendVarint(b, 2, int64(t.elemType))
	b = appendString(b, 8, t.name)
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, t.data)
}

func (v valueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.dims {
		var db []byte
		if d.param != "" {
			db = appendString(nil, 2, d.param)
		} else {
			db = appendVarint(nil, 1, d.value)
		}
		shape = appendMessage(shape, 1, db)
	}
	tensorType := appendVarint(nil, 1, int64(v.elemType))
	tensorType = appendMessage(tensorType, 2, shape)
	typ := appendMessage(nil, 1, tensorType) // TypeProto.tensor_type
	b := appendString(nil, 1, v.name)
	b = appendMessage(b, 2, typ)
	return appendString(b, 3, v.doc)
}

func (g *graphProto) marshal() []byte {
	var b []byte
	for _, n := range g.nodes {
		b = appendMessage(b, 1, n.marshal())
	}
	b = appendString(b, 2, g.name)
	for _, t := range g.inits {
		b = appendMessage(b, 5, t.marshal())
	}
	b = appendString(b, 10, g.doc)
	for _, v := range g.inputs {
		b = appendMessage(b, 11, v.marshal())
	}
	for _, v := range g.outputs {
		b = appendMessage(b, 12, v.marshal())
	}
	return b
}

func (m *modelProto) marshal() []byte {
	b := appendVarint(nil, 1, m.irVersion)
	b = appendString(b, 2, m.producerName)
	b = appendString(b, 3, m.producerVersion)
	b = appendString(b, 6, m.doc)
	b = appendMessage(b, 7, m.graph.marshal())
	opset := appendString(nil, 1, "") // the default domain ai.onnx
	opset = appendVarint(opset, 2, m.opsetVersion)
	b = appendMessage(b, 8, opset)
	for _, kv := range m.metadata {
		e := appendString(nil, 1, kv[0])
		e = appendString(e, 2, kv[1])
		b = appendMessage(b, 14, e)
	}
	return b
}

func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func int64Bytes(v []int64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}
