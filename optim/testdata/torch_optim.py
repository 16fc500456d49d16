#!/usr/bin/env python3
"""Reference trajectories for the optim package's tests, from torch.optim.

Run from this directory: /usr/bin/python3 torch_optim.py > torch_optim.json
"""
import json
import torch

w0 = [0.5, -1.25, 2.0, 0.0, -0.3]
grads = [[0.1, -0.2, 0.3, 0.05, -1.0], [0.3, 0.1, -0.2, 0.0, 0.4], [-0.5, 0.25, 0.1, 1.5, 0.2], [0.2, 0.2, 0.2, 0.2, 0.2]]
cfgs = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01),
    "adam_l2": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
}
out = {"w0": w0, "grads": grads, "final": {}}
for name, make in cfgs.items():
    w = torch.tensor(w0, requires_grad=True)
    opt = make([w])
    for g in grads:
        w.grad = torch.tensor(g)
        opt.step()
    out["final"][name] = w.detach().tolist()

metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6, 0.6, 0.6]
w = torch.tensor([1.0], requires_grad=True)
opt = torch.optim.SGD([w], lr=1.0)
sch = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
lrs = []
for m in metrics:
    sch.step(m)
    lrs.append(opt.param_groups[0]["lr"])
out["plateau"] = {"metrics": metrics, "lrs": lrs}
opt = torch.optim.SGD([w], lr=1.0)
sch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.1)
lrs = []
for _ in range(5):
    opt.step()
    sch.step()
    lrs.append(opt.param_groups[0]["lr"])
out["cosine"] = lrs
print(json.dumps(out))
