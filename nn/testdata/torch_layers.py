#!/usr/bin/env python3
"""Reference values for the nn package's layer tests, computed by PyTorch.

Run from this directory with Debian's PyTorch:
    /usr/bin/python3 torch_layers.py
It writes torch_layers.safetensors. For every case NAME it stores:
  NAME/param/<torch name>   the layer's parameters and buffers before the call
  NAME/input                the input (NAME/input1, NAME/input2 for more)
  NAME/output               the layer's output
  NAME/outgrad              r, the weights of the loss L = sum(output * r)
  NAME/grad/input           dL/dinput
  NAME/grad/<torch name>    dL/dparam
  NAME/after/<torch name>   buffers after the call (batch norm in training mode)
The file is written by hand (struct + json) because Debian has no safetensors
package; the Go side reads it with modelio.ReadSafetensors.
"""
import json, struct
import torch
import torch.nn as nn

torch.manual_seed(0)
out = {}


def put(name, t):
    out[name] = t.detach().to(torch.float32).clone().contiguous()


def case(name, layer, inputs, train=True, call=None):
    layer.train(train)
    layer.zero_grad(set_to_none=True)
    for k, v in layer.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            put(f"{name}/param/{k}", v.clone())
    xs = [x.clone().requires_grad_(True) for x in inputs]
    y = call(layer, *xs) if call else layer(*xs)
    if isinstance(y, tuple):
        y = y[0]
    r = torch.randn_like(y)
    (y * r).sum().backward()
    for i, x in enumerate(xs):
        put(f"{name}/input" + (str(i + 1) if len(xs) > 1 else ""), x)
        put(f"{name}/grad/input" + (str(i + 1) if len(xs) > 1 else ""), x.grad)
    put(f"{name}/output", y)
    put(f"{name}/outgrad", r)
    for k, p in layer.named_parameters():
        put(f"{name}/grad/{k}", p.grad)
    for k, b in layer.named_buffers():
        if not k.endswith("num_batches_tracked"):
            put(f"{name}/after/{k}", b)


case("dense", nn.Linear(5, 3), [torch.randn(4, 5)])
case("conv1d", nn.Conv1d(2, 3, 3, stride=2, padding=1, dilation=2), [torch.randn(2, 2, 11)])
case("conv2d", nn.Conv2d(2, 3, 3, stride=2, padding=1), [torch.randn(2, 2, 7, 6)])
bn = nn.BatchNorm1d(3)
with torch.no_grad():
    bn.weight.uniform_(0.5, 1.5); bn.bias.uniform_(-1, 1)
case("bn1d_train", bn, [torch.randn(5, 3) * 2 + 1])
bn = nn.BatchNorm2d(3)
with torch.no_grad():
    bn.weight.uniform_(0.5, 1.5); bn.bias.uniform_(-1, 1)
    bn.running_mean.uniform_(-1, 1); bn.running_var.uniform_(0.5, 2)
case("bn2d_eval", bn, [torch.randn(2, 3, 4, 4)], train=False)
case("bn2d_train", bn, [torch.randn(2, 3, 4, 4)])
ln = nn.LayerNorm(5)
with torch.no_grad():
    ln.weight.uniform_(0.5, 1.5); ln.bias.uniform_(-1, 1)
case("layernorm", ln, [torch.randn(2, 3, 5)])
case("lstm", nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True), [torch.randn(2, 5, 4)], train=False)
mha = nn.MultiheadAttention(8, 2, batch_first=True)
with torch.no_grad():
    mha.in_proj_bias.uniform_(-0.5, 0.5); mha.out_proj.bias.uniform_(-0.5, 0.5)
case("mha_self", mha, [torch.randn(2, 4, 8)], call=lambda m, x: m(x, x, x, need_weights=False))
mask = torch.tensor([[False, False, True], [False, True, True]])  # True = ignore (torch sense)
case("mha_masked", mha, [torch.randn(2, 4, 8), torch.randn(2, 3, 8)],
     call=lambda m, q, kv: m(q, kv, kv, key_padding_mask=mask, need_weights=False))
case("maxpool1d", nn.MaxPool1d(3, stride=2), [torch.randn(2, 3, 9)])
case("avgpool2d", nn.AvgPool2d(2), [torch.randn(2, 2, 5, 6)])
case("gelu", nn.GELU(), [torch.randn(3, 7)])
case("logsoftmax", nn.LogSoftmax(dim=1), [torch.randn(3, 7)])

header, blobs, off = {}, [], 0
for k in sorted(out):
    b = out[k].numpy().tobytes()
    header[k] = {"dtype": "F32", "shape": list(out[k].shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open("torch_layers.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print(f"wrote {len(out)} tensors")
