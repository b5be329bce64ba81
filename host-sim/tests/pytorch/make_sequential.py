#!/usr/bin/env python3
"""Reference models for `microprop-sim import --safetensors` (host-sim/tests/import.rs).

Builds seeded PyTorch `nn.Sequential` stacks of `nn.Linear` layers and activations, saves
each with `safetensors.torch.save_file` (keys `<index>.weight` (out x in) and
`<index>.bias`, in module order) with the metadata key `microprop.sequential` (the module
classes, comma-separated, in order; parameters in parentheses: `LeakyReLU(0.1)`), and
writes PyTorch's outputs (float32, eval mode, no grad) on fixed input points to
`golden.json`. CI reads the committed files and needs no Python.

    pip install torch safetensors
    python3 host-sim/tests/pytorch/make_sequential.py   # from the repository root

Generated with torch 2.15.0 and safetensors 0.8.0 (CPU, float32, deterministic).
"""

import json
import os

import torch
from torch import nn
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def spelled(m):
    """The metadata spelling of module `m` (what the importer parses)."""
    name = type(m).__name__
    if isinstance(m, nn.LeakyReLU):
        return f"LeakyReLU({m.negative_slope!r})"
    if isinstance(m, nn.ELU):
        return f"ELU({m.alpha!r})"
    if isinstance(m, nn.GELU):
        return "GELU(tanh)" if m.approximate == "tanh" else "GELU"
    return name


def build(seed, modules):
    torch.manual_seed(seed)
    net = nn.Sequential(*modules()).to(torch.float32).eval()
    # Make the biases non-trivial too (PyTorch's default init draws them small).
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.bias.uniform_(-0.5, 0.5)
    return net


MODELS = {
    # 2-8-8-1, ReLU and Tanh hidden layers, a sigmoid output.
    "relu_tanh_sigmoid": (
        1,
        lambda: [
            nn.Linear(2, 8), nn.ReLU(),
            nn.Linear(8, 8), nn.Tanh(),
            nn.Linear(8, 1), nn.Sigmoid(),
        ],
        2,
    ),
    # 3-16-8-4 with LeakyReLU(0.1) and ELU(0.5) hidden layers and a softmax over 4 outputs.
    "leaky_elu_softmax": (
        2,
        lambda: [
            nn.Linear(3, 16), nn.LeakyReLU(0.1),
            nn.Linear(16, 8), nn.ELU(alpha=0.5),
            nn.Linear(8, 4), nn.Softmax(dim=-1),
        ],
        3,
    ),
    # 4-6-3 with GELU (exact), an identity output (no activation module after the last Linear).
    "gelu_linear": (
        3,
        lambda: [nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 3)],
        4,
    ),
}

POINTS_SEED = 99


def main():
    golden = {
        "about": "PyTorch outputs (float32, eval mode) of the nn.Sequential in each "
        "<name>.safetensors on fixed points; written by make_sequential.py",
        "torch": torch.__version__,
        "models": {},
    }
    g = torch.Generator().manual_seed(POINTS_SEED)
    for name, (seed, modules, inputs) in MODELS.items():
        net = build(seed, modules)
        sequential = ",".join(spelled(m) for m in net)
        tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
        path = os.path.join(HERE, f"{name}.safetensors")
        save_file(tensors, path, metadata={"microprop.sequential": sequential})
        x = (torch.rand(8, inputs, generator=g, dtype=torch.float32) * 6.0 - 3.0)
        # Round the inputs to what the command line passes exactly (decimal, 6 digits).
        x = torch.tensor([[float(f"{v:.6g}") for v in row] for row in x.tolist()],
                         dtype=torch.float32)
        with torch.no_grad():
            y = net(x)
        golden["models"][name] = {
            "file": f"{name}.safetensors",
            "sequential": sequential,
            "points": [[float(f"{v:.6g}") for v in row] for row in x.tolist()],
            "outputs": y.tolist(),
        }
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
