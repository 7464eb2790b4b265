#!/usr/bin/env python3
"""Writes PyTorch reference fixtures for Descent's tests (run by hand; CI needs no Python).

    $(../shared/tools/torch-venv.sh) Scripts/make_fixtures.py

Each case stores, under `<case>/...` in one safetensors file per area:
  in/<name>   inputs (floating-point inputs get gradients)
  out/<i>     outputs of the PyTorch call (i = 0, 1, ... for tuples)
  gout/<i>    the upstream gradient used for backward (float outputs only)
  grad/<name> gradients of the inputs
The file's metadata maps each case to the PyTorch expression that produced it, and the Swift
tests (Tests/DescentTests/Core/OpsFixtureTests.swift) run the same expression and compare.
"""
import os, sys
import torch
import torch.nn.functional as F
from safetensors.torch import save_file, load_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")
torch.manual_seed(0)


class Book:
    def __init__(self):
        self.tensors, self.meta = {}, {}

    def case(self, name, call, fn, _const=(), **inputs):
        """`_const` names inputs that get no gradient (class weights)."""
        ins = {}
        for k, v in inputs.items():
            v = v.detach().clone()
            if v.is_floating_point() and k not in _const:
                v.requires_grad_(True)
            ins[k] = v
            self.tensors[f"{name}/in/{k}"] = v.detach().clone().contiguous()
        out = fn(**ins)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        diff = []
        for i, o in enumerate(outs):
            self.tensors[f"{name}/out/{i}"] = o.detach().clone().contiguous()
            if o.is_floating_point() and o.requires_grad:
                g = torch.randn(o.shape, dtype=o.dtype)
                self.tensors[f"{name}/gout/{i}"] = g
                diff.append((o, g))
        if diff:
            torch.autograd.backward([o for o, _ in diff], [g for _, g in diff])
            for k, v in ins.items():
                if v.is_floating_point() and k not in _const:
                    gr = v.grad if v.grad is not None else torch.zeros_like(v)
                    self.tensors[f"{name}/grad/{k}"] = gr.detach().clone().contiguous()
        self.meta[name] = call

    def module(self, name, call, module, x, train=True, steps=1):
        """A layer: its state dict before, the input, the output of the last of `steps`
        forward passes (same input), the gradients of the input and of every parameter
        after one backward of that output, and the buffers after all passes."""
        module.zero_grad(set_to_none=True)
        for k, v in module.state_dict().items():
            self.tensors[f"{name}/state/{k}"] = v.detach().clone().contiguous()
        module.train(train)
        self.tensors[f"{name}/config/train"] = torch.tensor(int(train))
        self.tensors[f"{name}/config/steps"] = torch.tensor(steps)
        x = x.detach().clone()
        if x.is_floating_point():
            x.requires_grad_(True)
        self.tensors[f"{name}/in/x"] = x.detach().clone()
        for _ in range(steps - 1):
            module(x)
        out = module(x)
        self.tensors[f"{name}/out/0"] = out.detach().clone().contiguous()
        if out.requires_grad:
            g = torch.randn(out.shape, dtype=out.dtype)
            self.tensors[f"{name}/gout/0"] = g
            out.backward(g)
            if x.is_floating_point():
                self.tensors[f"{name}/grad/x"] = x.grad.detach().clone()
            for k, p in module.named_parameters():
                gr = p.grad if p.grad is not None else torch.zeros_like(p)
                self.tensors[f"{name}/pgrad/{k}"] = gr.detach().clone().contiguous()
        for k, v in module.named_buffers():
            self.tensors[f"{name}/after/{k}"] = v.detach().clone().contiguous()
        self.meta[name] = call

    def save(self, fname):
        os.makedirs(ROOT, exist_ok=True)
        save_file(self.tensors, os.path.join(ROOT, fname), metadata=self.meta)
        print(f"{fname}: {len(self.meta)} cases, {len(self.tensors)} tensors")


def r(*shape, dtype=torch.float32):
    return torch.randn(shape, dtype=dtype)


def pos(*shape):
    return torch.rand(*shape) + 0.5


def ints(*shape, lo=-3, hi=4):
    return torch.randint(lo, hi, shape).float()


def ops():
    torch.manual_seed(0)
    b = Book()
    # Arithmetic with broadcasting both ways, scalars, size-1 and zero-size dims.
    b.case("add_bcast", "a + b", lambda a, b: a + b, a=r(3, 1, 4), b=r(2, 4))
    b.case("add_bcast_rev", "a + b", lambda a, b: a + b, a=r(4), b=r(3, 4))
    b.case("sub_bcast", "a - b", lambda a, b: a - b, a=r(2, 3), b=r(3, 1, 1))
    b.case("mul_bcast", "a * b", lambda a, b: a * b, a=r(5, 1), b=r(1, 6))
    b.case("div_bcast", "a / b", lambda a, b: a / b, a=r(2, 3, 4), b=pos(3, 1))
    b.case("mul_scalar_tensor", "a * b (b 0-d)", lambda a, b: a * b, a=r(3, 2), b=r())
    b.case("add_scalar", "a + 2.5", lambda a: a + 2.5, a=r(4))
    b.case("rsub_scalar", "1 - a", lambda a: 1 - a, a=r(4))
    b.case("rdiv_scalar", "2 / a", lambda a: 2 / a, a=pos(4))
    b.case("pow_tensor", "a.pow(b)", lambda a, b: a.pow(b), a=pos(3, 4), b=r(4))
    b.case("pow_scalar", "a.pow(3)", lambda a: a.pow(3), a=r(5))
    b.case("maximum_ties", "torch.maximum(a, b)", lambda a, b: torch.maximum(a, b), a=ints(4, 5), b=ints(5))
    b.case("minimum_ties", "torch.minimum(a, b)", lambda a, b: torch.minimum(a, b), a=ints(4, 5), b=ints(4, 1))
    b.case("size1_dims", "a * b", lambda a, b: a * b, a=r(1, 3, 1), b=r(2, 1, 5))
    b.case("zero_size", "(a + b).sum(0)", lambda a, b: (a + b).sum(0), a=r(0, 3), b=r(3))
    # Unary.
    for name, fn in [("neg", torch.neg), ("abs", torch.abs), ("exp", torch.exp), ("sin", torch.sin),
                     ("cos", torch.cos), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid), ("relu", torch.relu)]:
        b.case(f"unary_{name}", f"torch.{name}(a)", fn, a=r(3, 4))
    b.case("unary_abs_zero", "torch.abs(a) at 0", torch.abs, a=torch.tensor([-1.0, 0.0, 2.0]))
    b.case("unary_relu_zero", "torch.relu(a) at 0", torch.relu, a=torch.tensor([-1.0, 0.0, 2.0]))
    b.case("unary_relu_special", "torch.relu(a) at NaN, ±inf, −0 and a subnormal", torch.relu,
           a=torch.tensor([float("nan"), -1.0, 0.0, 2.0, float("-inf"), float("inf"), -0.0, 1e-45] * 4))
    for name, fn in [("log", torch.log), ("sqrt", torch.sqrt), ("rsqrt", torch.rsqrt)]:
        b.case(f"unary_{name}", f"torch.{name}(a)", fn, a=pos(3, 4))
    b.case("clamp_both", "a.clamp(-0.5, 0.5)", lambda a: a.clamp(-0.5, 0.5), a=r(20))
    b.case("clamp_min", "a.clamp(min=0.1)", lambda a: a.clamp(min=0.1), a=r(20))
    b.case("clamp_bounds", "a.clamp(-1, 1) with values on the bounds",
           lambda a: a.clamp(-1, 1), a=torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0]))
    b.case("sigmoid_extreme", "torch.sigmoid(a) of +-1000", torch.sigmoid,
           a=torch.tensor([-1000.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1000.0]))
    b.case("logsumexp_extreme", "torch.logsumexp(a, 1) of +-1000", lambda a: torch.logsumexp(a, 1),
           a=torch.tensor([[1000.0, 1000.0, -1000.0], [-1000.0, -1000.0, -1000.0], [0.0, 1.0, 2.0]]))
    # Comparisons and where.
    b.case("where", "torch.where(c > 0, a, b)", lambda c, a, b: torch.where(c > 0, a, b), c=r(3, 1), a=r(3, 4), b=r(4))
    b.case("compare_gt", "(a > b).float()", lambda a, b: (a > b).float(), a=ints(3, 4), b=ints(4))
    b.case("compare_eq", "(a == b).float()", lambda a, b: (a == b).float(), a=ints(3, 4), b=ints(4))
    # Reductions.
    b.case("sum_all", "a.sum()", lambda a: a.sum(), a=r(3, 4, 5))
    b.case("sum_dims_keep", "a.sum((0, 2), keepdim=True)", lambda a: a.sum((0, 2), keepdim=True), a=r(3, 4, 5))
    b.case("sum_neg_dim", "a.sum(-1)", lambda a: a.sum(-1), a=r(3, 4, 5))
    b.case("mean_dim", "a.mean(1)", lambda a: a.mean(1), a=r(3, 4, 5))
    b.case("var_unbiased", "a.var(1)", lambda a: a.var(1), a=r(3, 6))
    b.case("var_biased_keep", "a.var((0, 1), correction=0, keepdim=True)",
           lambda a: a.var((0, 1), correction=0, keepdim=True), a=r(3, 4, 2))
    b.case("std_dim", "a.std(0)", lambda a: a.std(0), a=r(5, 3))
    b.case("max_dim", "a.max(1)", lambda a: a.max(1), a=r(4, 6))
    b.case("min_dim_keep", "a.min(0, keepdim=True)", lambda a: a.min(0, keepdim=True), a=r(4, 6))
    b.case("amax_ties", "a.amax() with ties", lambda a: a.amax(), a=torch.tensor([[1.0, 3.0], [3.0, 2.0]]))
    b.case("amax_dims", "a.amax((0, 2))", lambda a: a.amax((0, 2)), a=r(3, 4, 5))
    b.case("argmax_dim", "a.argmax(1)", lambda a: a.argmax(1), a=r(4, 6))
    b.case("argmin_flat", "a.argmin()", lambda a: a.argmin(), a=r(4, 6))
    b.case("prod_dim", "a.prod(1)", lambda a: a.prod(1), a=r(3, 4))
    b.case("prod_zero", "a.prod(1) with zeros", lambda a: a.prod(1),
           a=torch.tensor([[1.0, 0.0, 3.0], [0.0, 0.0, 2.0], [1.5, 2.0, -1.0]]))
    b.case("logsumexp_dims", "torch.logsumexp(a, (1, 2))", lambda a: torch.logsumexp(a, (1, 2)), a=r(2, 3, 4))
    # Matmul in all forms.
    b.case("matmul_1d_1d", "a @ b", lambda a, b: a @ b, a=r(5), b=r(5))
    b.case("matmul_1d_2d", "a @ b", lambda a, b: a @ b, a=r(5), b=r(5, 3))
    b.case("matmul_2d_1d", "a @ b", lambda a, b: a @ b, a=r(4, 5), b=r(5))
    b.case("matmul_2d_2d", "a @ b", lambda a, b: a @ b, a=r(4, 5), b=r(5, 3))
    b.case("matmul_3d_3d", "a @ b", lambda a, b: a @ b, a=r(2, 4, 5), b=r(2, 5, 3))
    b.case("matmul_bcast", "a @ b", lambda a, b: a @ b, a=r(2, 1, 4, 5), b=r(3, 5, 2))
    b.case("matmul_3d_2d", "a @ b", lambda a, b: a @ b, a=r(2, 4, 5), b=r(5, 3))
    b.case("matmul_1d_3d", "a @ b", lambda a, b: a @ b, a=r(5), b=r(2, 5, 3))
    b.case("matmul_3d_1d", "a @ b", lambda a, b: a @ b, a=r(2, 4, 5), b=r(5))
    b.case("matmul_transposed", "a.t() @ b.t()", lambda a, b: a.t() @ b.t(), a=r(5, 4), b=r(3, 5))
    b.case("matmul_big", "a @ b (K=784)", lambda a, b: a @ b, a=r(16, 784), b=r(784, 32))
    b.case("matmul_empty_k", "a @ b with K=0", lambda a, b: a @ b, a=r(2, 0), b=r(0, 3))
    # Views and non-contiguous inputs.
    b.case("permute_mul", "a.permute(2, 0, 1) * b", lambda a, b: a.permute(2, 0, 1) * b, a=r(2, 3, 4), b=r(4, 2, 3))
    b.case("transpose_reshape", "a.transpose(0, 1).reshape(-1)", lambda a: a.transpose(0, 1).reshape(-1), a=r(3, 4))
    b.case("expand_mul", "a.expand(3, 4) * b", lambda a, b: a.expand(3, 4) * b, a=r(3, 1), b=r(3, 4))
    b.case("narrow_exp", "a.narrow(1, 1, 2).exp()", lambda a: a.narrow(1, 1, 2).exp(), a=r(3, 4))
    b.case("slice_step_sum", "a[:, 1:3].sum(0)", lambda a: a[:, 1:3].sum(0), a=r(3, 4))
    b.case("squeeze_unsqueeze", "a.squeeze(1).unsqueeze(0) * 2", lambda a: a.squeeze(1).unsqueeze(0) * 2, a=r(3, 1, 4))
    b.case("select_row", "a[1] * 3", lambda a: a[1] * 3, a=r(3, 4))
    b.case("flatten", "a.flatten(1)", lambda a: a.flatten(1), a=r(2, 3, 4))
    # Joining, splitting, padding.
    b.case("cat_dim1", "torch.cat([a, b], 1)", lambda a, b: torch.cat([a, b], 1), a=r(2, 3), b=r(2, 2))
    b.case("cat_empty", "torch.cat([a, b], 0) with a zero-size part", lambda a, b: torch.cat([a, b], 0), a=r(0, 3), b=r(2, 3))
    b.case("stack_dim1", "torch.stack([a, b], 1)", lambda a, b: torch.stack([a, b], 1), a=r(2, 3), b=r(2, 3))
    b.case("split_sizes", "a.split([1, 3], 1)", lambda a: a.split([1, 3], 1), a=r(2, 4))
    b.case("chunk_uneven", "a.chunk(3, 0)", lambda a: a.chunk(3, 0), a=r(5, 2))
    b.case("pad_2d", "F.pad(a, (1, 2, 0, 1), value=0.5)", lambda a: F.pad(a, (1, 2, 0, 1), value=0.5), a=r(2, 3, 4))
    b.case("pad_negative", "F.pad(a, (-1, 1))", lambda a: F.pad(a, (-1, 1)), a=r(2, 4))
    # Indexing.
    idx = torch.tensor([2, 0, 2])
    b.case("index_select", "a.index_select(0, idx)", lambda a, idx: a.index_select(0, idx), a=r(4, 3), idx=idx)
    b.case("index_select_dim1", "a.index_select(1, idx)", lambda a, idx: a.index_select(1, idx), a=r(2, 4), idx=idx)
    gidx = torch.tensor([[0, 2, 2], [1, 1, 0]])
    b.case("gather_dim1", "a.gather(1, idx)", lambda a, idx: a.gather(1, idx), a=r(2, 4), idx=gidx)
    b.case("gather_dim0", "a.gather(0, idx)", lambda a, idx: a.gather(0, idx), a=r(3, 3), idx=gidx)
    b.case("scatter_add", "a.scatter_add(1, idx, s)", lambda a, idx, s: a.scatter_add(1, idx, s),
           a=r(2, 4), idx=gidx, s=r(2, 3))
    b.case("one_hot", "F.one_hot(t, 5)", lambda t: F.one_hot(t, 5), t=torch.tensor([0, 3, 4, 1]))
    # Casts.
    b.case("cast_double", "a.double() * 2", lambda a: a.double() * 2, a=r(3))
    b.case("cast_long", "a.long()", lambda a: a.long(), a=torch.tensor([-2.7, -0.5, 0.5, 2.7]))
    b.case("cast_long_float", "t.float() / 2", lambda t: t.float() / 2, t=torch.tensor([1, -3, 5]))
    b.case("int_true_div", "t / u", lambda t, u: t / u, t=torch.tensor([1, -3, 5]), u=torch.tensor([2, 2, 4]))
    # Float64 (gradient-check dtype) through a composite.
    b.case("composite_f64", "(a.tanh() * b).sum(1).logsumexp(0)",
           lambda a, b: (a.tanh() * b).sum(1).logsumexp(0), a=r(3, 4, dtype=torch.float64), b=r(4, dtype=torch.float64))
    b.save("ops.safetensors")


def creation():
    torch.manual_seed(1)
    t = {
        "arange": torch.arange(0, 10, 3, dtype=torch.float32),
        "arange_frac": torch.arange(-1, 1, 0.3, dtype=torch.float32),
        "linspace": torch.linspace(-1, 1, 7),
        "linspace_f64": torch.linspace(0, 1, 10, dtype=torch.float64),
        "eye": torch.eye(3, 4),
    }
    save_file(t, os.path.join(ROOT, "creation.safetensors"),
              metadata={"arange": "torch.arange(0, 10, 3)", "arange_frac": "torch.arange(-1, 1, 0.3)",
                        "linspace": "torch.linspace(-1, 1, 7)", "linspace_f64": "torch.linspace(0, 1, 10, float64)",
                        "eye": "torch.eye(3, 4)"})
    print("creation.safetensors")


def safetensors_interop():
    torch.manual_seed(2)
    # Written by PyTorch's safetensors in every dtype Descent reads; *_as_f32 hold the expected values.
    half = torch.tensor([0.0, 1.0, -2.5, 65504.0, 6.1e-5, 5.96e-8, float("inf")], dtype=torch.float16)
    bf = torch.tensor([0.0, 1.0, -2.5, 3.0e38, 1.0e-3], dtype=torch.bfloat16)
    t = {
        "f32": torch.randn(2, 3),
        "f64": torch.randn(4, dtype=torch.float64),
        "i64": torch.tensor([[1, -2], [3, 2**40]]),
        "f16": half, "f16_as_f32": half.float(),
        "bf16": bf, "bf16_as_f32": bf.float(),
        "i32": torch.tensor([7, -8], dtype=torch.int32),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
    }
    # float32 → bfloat16 rounding (to nearest, ties to even): ties both ways, the largest
    # float (rounds to ∞), subnormals, signed zero, ∞, NaN, and random values at many scales.
    special = torch.tensor([1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 1 + 2**-8 + 2**-20, 3.4028234e38, -3.4028234e38,
                            1e-40, -1e-45, -0.0, float("inf"), float("-inf"), float("nan"), 65504.0, 1e-3])
    rand = torch.randn(200) * torch.logspace(-30, 30, 200)
    t["bf16_round_in"] = torch.cat([special, rand])
    t["bf16_round_out"] = t["bf16_round_in"].bfloat16()
    save_file(t, os.path.join(ROOT, "from_pytorch.safetensors"), metadata={"producer": "pytorch", "note": "interop"})
    print("from_pytorch.safetensors")
    # A file written by Descent (its tests check they still write exactly these bytes).
    path = os.path.join(ROOT, "written_by_descent.safetensors")
    if os.path.exists(path):
        d = load_file(path)
        expected = {
            "weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
            "bias": torch.tensor([1.5, -2.0], dtype=torch.float64),
            "steps": torch.tensor(7, dtype=torch.int64),
            "half": torch.tensor([1.0, -2.5, 1 + 2**-8, 1 + 3 * 2**-8, 3.0e38, 1.0e-3]).bfloat16(),
        }
        assert set(d) == set(expected), sorted(d)
        for k, v in expected.items():
            assert d[k].dtype == v.dtype and d[k].shape == v.shape and torch.equal(d[k], v), k
        print("written_by_descent.safetensors loads in PyTorch with the expected values")
    else:
        print("written_by_descent.safetensors missing: run the Swift tests once, then rerun", file=sys.stderr)


def layers():
    torch.manual_seed(3)
    import torch.nn as nn
    b = Book()
    x = r(4, 6) * 2
    # Activations (functional forms).
    b.case("leaky_relu", "F.leaky_relu(a, 0.2)", lambda a: F.leaky_relu(a, 0.2), a=torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0]))
    b.case("elu", "F.elu(a, 0.7)", lambda a: F.elu(a, 0.7), a=x)
    b.case("gelu", "F.gelu(a)", lambda a: F.gelu(a), a=x)
    b.case("gelu_tanh", "F.gelu(a, approximate='tanh')", lambda a: F.gelu(a, approximate="tanh"), a=x)
    b.case("silu", "F.silu(a)", lambda a: F.silu(a), a=x)
    b.case("softplus", "F.softplus(a, beta=2, threshold=5)", lambda a: F.softplus(a, beta=2, threshold=5),
           a=torch.tensor([-30.0, -1.0, 0.0, 1.0, 2.4, 2.6, 40.0]))
    b.case("softmax", "F.softmax(a, 1)", lambda a: F.softmax(a, 1), a=r(3, 5) * 3)
    b.case("log_softmax", "F.log_softmax(a, 0)", lambda a: F.log_softmax(a, 0), a=r(3, 5) * 3)
    b.case("softmax_extreme", "F.softmax(a, 1) of +-1000", lambda a: F.softmax(a, 1), a=torch.tensor([[1000.0, -1000.0, 0.0]]))
    b.case("hardtanh", "F.hardtanh(a, -0.5, 1.5)", lambda a: F.hardtanh(a, -0.5, 1.5), a=x)
    b.module("prelu", "nn.PReLU(3, 0.1) on (2, 3, 4)", nn.PReLU(3, 0.1), r(2, 3, 4))
    # Piecewise functions at their branch points (where the gradient takes one side's value).
    b.case("elu_branch", "F.elu(a, 0.7) at 0", lambda a: F.elu(a, 0.7), a=torch.tensor([-1.0, -0.0, 0.0, 1.0]))
    b.case("softplus_threshold", "F.softplus(a, beta=2, threshold=5) at beta*a == threshold",
           lambda a: F.softplus(a, beta=2, threshold=5), a=torch.tensor([2.4990234375, 2.5, 2.5009765625, 0.0]))
    b.case("softplus_threshold_default", "F.softplus(a) at a == 20", lambda a: F.softplus(a), a=torch.tensor([19.0, 20.0, 21.0]))
    b.case("leaky_relu_zero", "F.leaky_relu(a, 0.3) at 0", lambda a: F.leaky_relu(a, 0.3), a=torch.tensor([-1.0, -0.0, 0.0, 1.0]))
    b.case("prelu_zero", "F.prelu(a, w) at 0", lambda a, w: F.prelu(a, w),
           a=torch.tensor([[[-1.0, 0.0], [0.0, 2.0], [-0.0, -3.0]]]), w=torch.tensor([0.1, 0.2, 0.3]))
    b.case("hardtanh_bounds", "F.hardtanh(a, -0.5, 1.5) at the bounds", lambda a: F.hardtanh(a, -0.5, 1.5),
           a=torch.tensor([-1.0, -0.5, 0.0, 1.5, 2.0]))
    b.case("relu_zero", "F.relu(a) at 0", lambda a: F.relu(a), a=torch.tensor([-1.0, -0.0, 0.0, 1.0]))
    kink_a, kink_t = torch.tensor([0.5, 1.0, 0.25, -0.5, 2.0, 0.0]), torch.tensor([0.0, 0.5, 0.25, 0.0, 0.0, 0.0])
    b.case("l1_kink", "F.l1_loss(a, t) with a == t", lambda a, t: F.l1_loss(a, t), a=kink_a, t=kink_t)
    b.case("smooth_l1_kink", "F.smooth_l1_loss(a, t, beta=0.5) at |a - t| == beta and 0",
           lambda a, t: F.smooth_l1_loss(a, t, beta=0.5), a=kink_a, t=kink_t)
    b.case("huber_kink", "F.huber_loss(a, t, delta=0.5) at |a - t| == delta and 0",
           lambda a, t: F.huber_loss(a, t, delta=0.5), a=kink_a, t=kink_t)
    # Basic layers.
    b.module("linear", "nn.Linear(6, 3)", nn.Linear(6, 3), r(4, 6))
    b.module("linear_3d_nobias", "nn.Linear(6, 3, bias=False) on (2, 4, 6)", nn.Linear(6, 3, bias=False), r(2, 4, 6))
    b.module("embedding_pad", "nn.Embedding(5, 3, padding_idx=1)", nn.Embedding(5, 3, padding_idx=1), torch.tensor([[0, 1, 4], [1, 1, 2]]))
    b.module("layer_norm", "nn.LayerNorm(6)", nn.LayerNorm(6), r(4, 6) * 3 + 1)
    ln = nn.LayerNorm([3, 4])
    with torch.no_grad():
        ln.weight.normal_(); ln.bias.normal_()
    b.module("layer_norm_2d", "nn.LayerNorm([3, 4]) with random affine", ln, r(2, 3, 4))
    # Batch normalization.
    def bn_random(m):
        with torch.no_grad():
            if m.weight is not None:
                m.weight.uniform_(0.5, 1.5); m.bias.normal_()
        return m
    b.module("bn1d_train", "nn.BatchNorm1d(3) train, 3 steps", bn_random(nn.BatchNorm1d(3)), r(5, 3) * 2 + 1, steps=3)
    b.module("bn1d_3d_train", "nn.BatchNorm1d(3) train on (4, 3, 5)", bn_random(nn.BatchNorm1d(3)), r(4, 3, 5), steps=2)
    b.module("bn2d_train", "nn.BatchNorm2d(4) train, 3 steps", bn_random(nn.BatchNorm2d(4)), r(3, 4, 5, 5) * 3 - 1, steps=3)
    bn = bn_random(nn.BatchNorm2d(4))
    bn.train()
    for _ in range(3):
        bn(r(3, 4, 5, 5) * 2 + 0.5)
    b.module("bn2d_eval", "nn.BatchNorm2d(4) eval after 3 training steps", bn, r(3, 4, 5, 5), train=False)
    b.module("bn2d_eval_batch1", "nn.BatchNorm2d(4) eval, batch size 1", bn, r(1, 4, 3, 3), train=False)
    b.module("bn2d_cumulative", "nn.BatchNorm2d(2, momentum=None) train, 3 steps", bn_random(nn.BatchNorm2d(2, momentum=None)), r(2, 2, 3, 3), steps=3)
    b.module("bn2d_noaffine", "nn.BatchNorm2d(2, affine=False)", nn.BatchNorm2d(2, affine=False), r(2, 2, 3, 3))
    b.module("bn2d_nostats_eval", "nn.BatchNorm2d(2, track_running_stats=False) eval", bn_random(nn.BatchNorm2d(2, track_running_stats=False)),
             r(2, 2, 3, 3), train=False)
    # Convolution.
    b.module("conv2d_basic", "nn.Conv2d(3, 4, 3, padding=1)", nn.Conv2d(3, 4, 3, padding=1), r(2, 3, 6, 6))
    b.module("conv2d_stride_gt_kernel", "nn.Conv2d(2, 3, 2, stride=3)", nn.Conv2d(2, 3, 2, stride=3), r(2, 2, 8, 7))
    b.module("conv2d_pad_dilation", "nn.Conv2d(2, 3, 3, padding=2, dilation=2)", nn.Conv2d(2, 3, 3, padding=2, dilation=2), r(1, 2, 7, 6))
    b.module("conv2d_nonsquare", "nn.Conv2d(2, 3, (2, 4), stride=(2, 1), padding=(1, 0))", nn.Conv2d(2, 3, (2, 4), stride=(2, 1), padding=(1, 0)), r(2, 2, 5, 7))
    b.module("conv2d_groups", "nn.Conv2d(4, 6, 3, groups=2, bias=False)", nn.Conv2d(4, 6, 3, groups=2, bias=False), r(2, 4, 5, 5))
    b.module("conv2d_depthwise", "nn.Conv2d(3, 3, 3, padding=1, groups=3)", nn.Conv2d(3, 3, 3, padding=1, groups=3), r(2, 3, 4, 4))
    b.module("conv2d_same_even", "nn.Conv2d(2, 2, 4, padding='same')", nn.Conv2d(2, 2, 4, padding="same"), r(1, 2, 5, 6))
    b.module("conv2d_valid", "nn.Conv2d(2, 2, 3, padding='valid')", nn.Conv2d(2, 2, 3, padding="valid"), r(1, 2, 5, 5))
    b.module("conv1d", "nn.Conv1d(3, 4, 3, stride=2, padding=1)", nn.Conv1d(3, 4, 3, stride=2, padding=1), r(2, 3, 9))
    b.module("conv1d_dilation_groups", "nn.Conv1d(4, 2, 2, dilation=3, groups=2)", nn.Conv1d(4, 2, 2, dilation=3, groups=2), r(2, 4, 10))
    # Transposed convolution.
    b.module("convt2d_s2", "nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1)", nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1), r(2, 3, 4, 4))
    b.module("convt2d_outpad", "nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)",
             nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1), r(2, 2, 3, 4))
    b.module("convt2d_groups_dilation", "nn.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), groups=2, dilation=2, bias=False)",
             nn.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), groups=2, dilation=2, bias=False), r(2, 4, 3, 3))
    b.module("convt1d", "nn.ConvTranspose1d(3, 2, 3, stride=3, padding=1, output_padding=2)",
             nn.ConvTranspose1d(3, 2, 3, stride=3, padding=1, output_padding=2), r(2, 3, 5))
    ct = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    b.module("convt2d_output_size", "nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)(x, output_size=[8, 8])",
             type("W", (nn.Module,), {"__init__": lambda self: (nn.Module.__init__(self), setattr(self, "m", ct))[0],
                                      "forward": lambda self, x: self.m(x, output_size=[8, 8])})(), r(1, 2, 4, 4))
    # Pooling.
    pool_in = r(2, 3, 7, 6)
    b.case("maxpool2d", "F.max_pool2d(a, 2)", lambda a: F.max_pool2d(a, 2), a=pool_in)
    b.case("maxpool2d_ceil_pad_dil", "F.max_pool2d(a, 3, stride=2, padding=1, dilation=2, ceil_mode=True)",
           lambda a: F.max_pool2d(a, 3, stride=2, padding=1, dilation=2, ceil_mode=True), a=pool_in)
    b.case("maxpool2d_ceil", "F.max_pool2d(a, 2, ceil_mode=True)", lambda a: F.max_pool2d(a, 2, ceil_mode=True), a=pool_in)
    b.case("maxpool2d_indices", "F.max_pool2d(a, (2, 3), stride=(1, 2), return_indices=True)",
           lambda a: F.max_pool2d(a, (2, 3), stride=(1, 2), return_indices=True), a=pool_in)
    b.case("avgpool2d", "F.avg_pool2d(a, 2)", lambda a: F.avg_pool2d(a, 2), a=pool_in)
    b.case("avgpool2d_pad_ceil", "F.avg_pool2d(a, 3, stride=2, padding=1, ceil_mode=True)",
           lambda a: F.avg_pool2d(a, 3, stride=2, padding=1, ceil_mode=True), a=pool_in)
    b.case("avgpool2d_nocount", "F.avg_pool2d(a, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)",
           lambda a: F.avg_pool2d(a, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), a=pool_in)
    b.case("avgpool2d_divisor", "F.avg_pool2d(a, 2, divisor_override=3)", lambda a: F.avg_pool2d(a, 2, divisor_override=3), a=pool_in)
    b.case("maxpool1d", "F.max_pool1d(a, 3, stride=2, padding=1, ceil_mode=True)",
           lambda a: F.max_pool1d(a, 3, stride=2, padding=1, ceil_mode=True), a=r(2, 3, 8))
    b.case("avgpool1d", "F.avg_pool1d(a, 2, stride=3)", lambda a: F.avg_pool1d(a, 2, stride=3), a=r(2, 3, 8))
    b.case("adaptive_avg", "F.adaptive_avg_pool2d(a, (3, 4))", lambda a: F.adaptive_avg_pool2d(a, (3, 4)), a=pool_in)
    b.case("adaptive_max", "F.adaptive_max_pool2d(a, (4, 5))", lambda a: F.adaptive_max_pool2d(a, (4, 5)), a=pool_in)
    b.case("adaptive_avg_1", "F.adaptive_avg_pool2d(a, 1)", lambda a: F.adaptive_avg_pool2d(a, 1), a=pool_in)
    # Upsampling.
    up_in = r(1, 2, 3, 4)
    b.case("nearest_x2", "F.interpolate(a, scale_factor=2)", lambda a: F.interpolate(a, scale_factor=2), a=up_in)
    b.case("nearest_x1_7", "F.interpolate(a, scale_factor=1.7)", lambda a: F.interpolate(a, scale_factor=1.7), a=up_in)
    b.case("nearest_size", "F.interpolate(a, size=(5, 7))", lambda a: F.interpolate(a, size=(5, 7)), a=up_in)
    b.case("nearest_down", "F.interpolate(a, size=(2, 3))", lambda a: F.interpolate(a, size=(2, 3)), a=up_in)
    b.case("bilinear_x2", "F.interpolate(a, scale_factor=2, mode='bilinear')", lambda a: F.interpolate(a, scale_factor=2, mode="bilinear"), a=up_in)
    b.case("bilinear_x1_7", "F.interpolate(a, scale_factor=1.7, mode='bilinear')",
           lambda a: F.interpolate(a, scale_factor=1.7, mode="bilinear"), a=up_in)
    b.case("bilinear_align_x1_7", "F.interpolate(a, scale_factor=1.7, mode='bilinear', align_corners=True)",
           lambda a: F.interpolate(a, scale_factor=1.7, mode="bilinear", align_corners=True), a=up_in)
    b.case("bilinear_align_size", "F.interpolate(a, size=(5, 9), mode='bilinear', align_corners=True)",
           lambda a: F.interpolate(a, size=(5, 9), mode="bilinear", align_corners=True), a=up_in)
    b.case("bilinear_size_down", "F.interpolate(a, size=(2, 3), mode='bilinear')",
           lambda a: F.interpolate(a, size=(2, 3), mode="bilinear"), a=up_in)
    # Losses.
    p, t = r(4, 5), r(4, 5)
    for red in ("mean", "sum", "none"):
        b.case(f"mse_{red}", f"F.mse_loss(a, t, reduction='{red}')", lambda a, t, red=red: F.mse_loss(a, t, reduction=red), a=p, t=t)
    b.case("l1", "F.l1_loss(a, t)", lambda a, t: F.l1_loss(a, t), a=p, t=t)
    b.case("smooth_l1", "F.smooth_l1_loss(a, t, beta=0.5)", lambda a, t: F.smooth_l1_loss(a, t, beta=0.5), a=p, t=t)
    b.case("huber", "F.huber_loss(a, t, delta=0.7, reduction='sum')", lambda a, t: F.huber_loss(a, t, delta=0.7, reduction="sum"), a=p, t=t)
    logits, cls = r(6, 4) * 2, torch.tensor([0, 3, 1, 1, 2, 3])
    cls_ign = torch.tensor([0, -100, 1, 1, 2, -100])
    w = torch.tensor([0.5, 1.0, 2.0, 1.5])
    b.case("ce", "F.cross_entropy(a, t)", lambda a, t: F.cross_entropy(a, t), a=logits, t=cls)
    b.case("ce_weight_ignore", "F.cross_entropy(a, t, weight=w, ignore_index=-100)",
           lambda a, t, w: F.cross_entropy(a, t, weight=w), a=logits, t=cls_ign, w=w, _const=("w",))
    b.case("ce_smooth", "F.cross_entropy(a, t, label_smoothing=0.1)", lambda a, t: F.cross_entropy(a, t, label_smoothing=0.1), a=logits, t=cls_ign)
    b.case("ce_smooth_weight", "F.cross_entropy(a, t, weight=w, label_smoothing=0.2)",
           lambda a, t, w: F.cross_entropy(a, t, weight=w, label_smoothing=0.2), a=logits, t=cls_ign, w=w, _const=("w",))
    b.case("ce_smooth_sum", "F.cross_entropy(a, t, label_smoothing=0.3, reduction='sum')",
           lambda a, t: F.cross_entropy(a, t, label_smoothing=0.3, reduction="sum"), a=logits, t=cls)
    b.case("ce_none", "F.cross_entropy(a, t, reduction='none')", lambda a, t: F.cross_entropy(a, t, reduction="none"), a=logits, t=cls_ign)
    probs = torch.softmax(r(6, 4), 1)
    b.case("ce_probs", "F.cross_entropy(a, p)", lambda a, p: F.cross_entropy(a, p), a=logits, p=probs)
    b.case("ce_probs_weight_smooth", "F.cross_entropy(a, p, weight=w, label_smoothing=0.1)",
           lambda a, p, w: F.cross_entropy(a, p, weight=w, label_smoothing=0.1), a=logits, p=probs, w=w, _const=("w",))
    b.case("ce_spatial", "F.cross_entropy(a, t) with a (N, C, d) input", lambda a, t: F.cross_entropy(a, t),
           a=r(2, 4, 3), t=torch.tensor([[0, 1, 3], [2, 2, 0]]))
    b.case("nll", "F.nll_loss(a, t, weight=w)", lambda a, t, w: F.nll_loss(a, t, weight=w), a=F.log_softmax(logits, 1), t=cls, w=w, _const=("w",))
    b.case("bce", "F.binary_cross_entropy(a, t)", lambda a, t: F.binary_cross_entropy(a, t),
           a=torch.tensor([0.1, 0.5, 0.9, 1.0, 0.0]), t=torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0]))
    b.case("bce_grad_at_bounds", "F.binary_cross_entropy(a, t) at p in {0, 1}", lambda a, t: F.binary_cross_entropy(a, t),
           a=torch.tensor([0.0, 1.0, 0.0, 1.0]), t=torch.tensor([0.0, 1.0, 0.5, 0.5]))
    b.case("bce_logits", "F.binary_cross_entropy_with_logits(a, t) with large logits",
           lambda a, t: F.binary_cross_entropy_with_logits(a, t), a=torch.tensor([-200.0, -3.0, 0.0, 2.0, 150.0]),
           t=torch.tensor([1.0, 0.0, 1.0, 0.3, 0.0]))
    b.case("bce_logits_pos_weight", "F.binary_cross_entropy_with_logits(a, t, pos_weight=pw)",
           lambda a, t, pw: F.binary_cross_entropy_with_logits(a, t, pos_weight=pw), a=r(4, 3) * 3, t=torch.rand(4, 3), pw=torch.tensor([0.5, 2.0, 3.0]), _const=("pw",))
    # log-softmax, the NLL and linear's bias as primitives (appended last, so that the cases
    # above keep their random draws).
    b.case("log_softmax_extreme", "F.log_softmax(a, 1) of +-1000 and a constant row", lambda a: F.log_softmax(a, 1),
           a=torch.tensor([[1000.0, -1000.0, 0.0], [3.0, 3.0, 3.0]]))
    b.case("log_softmax_last_3d", "F.log_softmax(a, -1) on (2, 3, 5)", lambda a: F.log_softmax(a, -1), a=r(2, 3, 5) * 3)
    b.case("nll_ignore_sum", "F.nll_loss(a, t, ignore_index=1, reduction='sum')",
           lambda a, t: F.nll_loss(a, t, ignore_index=1, reduction="sum"), a=F.log_softmax(r(5, 3), 1),
           t=torch.tensor([0, 1, 2, 1, 0]))
    b.module("linear_3d_bias", "nn.Linear(6, 3) on (2, 4, 6)", nn.Linear(6, 3), r(2, 4, 6))
    # 16 channels, kernel 4, stride 2: Winograd's F(2×2, 2×2) on AVX-512 CPUs (conv_winograd22.c).
    b.module("convt2d_s2_wide", "nn.ConvTranspose2d(16, 16, 4, stride=2, padding=1)", nn.ConvTranspose2d(16, 16, 4, stride=2, padding=1),
             r(2, 16, 8, 16))
    b.save("layers.safetensors")


def recurrent():
    """RNN, LSTM and GRU layers and cells: outputs, final states, and gradients of the input,
    the initial states and every weight, over the options of the layers and variable lengths."""
    torch.manual_seed(4)
    import torch.nn as nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    b = Book()

    def rec(name, call, module, x, h0=None, c0=None, lengths=None, batch_first=False):
        module.zero_grad(set_to_none=True)
        for k, v in module.state_dict().items():
            b.tensors[f"{name}/state/{k}"] = v.detach().clone().contiguous()
        ins = {"x": x.detach().clone().requires_grad_(True)}
        if h0 is not None:
            ins["h0"] = h0.detach().clone().requires_grad_(True)
        if c0 is not None:
            ins["c0"] = c0.detach().clone().requires_grad_(True)
        for k, v in ins.items():
            b.tensors[f"{name}/in/{k}"] = v.detach().clone()
        state = None
        if h0 is not None:
            state = (ins["h0"], ins["c0"]) if c0 is not None else ins["h0"]
        if lengths is not None:
            b.tensors[f"{name}/in/lengths"] = torch.tensor(lengths)
            packed = pack_padded_sequence(ins["x"], torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
            out, hs = module(packed, state)
            out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=x.shape[1 if batch_first else 0])
        else:
            out, hs = module(ins["x"], state)
        outs = [out] + (list(hs) if isinstance(hs, tuple) else [hs])
        gs = []
        for i, o in enumerate(outs):
            b.tensors[f"{name}/out/{i}"] = o.detach().clone().contiguous()
            g = torch.randn(o.shape)
            b.tensors[f"{name}/gout/{i}"] = g
            gs.append(g)
        torch.autograd.backward(outs, gs)
        for k, v in ins.items():
            b.tensors[f"{name}/grad/{k}"] = v.grad.detach().clone()
        for k, p in module.named_parameters():
            b.tensors[f"{name}/pgrad/{k}"] = p.grad.detach().clone().contiguous()
        b.meta[name] = call

    T, B = 5, 3
    rec("rnn_tanh", "nn.RNN(4, 6)", nn.RNN(4, 6), r(T, B, 4))
    rec("rnn_relu_2l_bi_bf_nobias", "nn.RNN(4, 5, num_layers=2, nonlinearity='relu', bias=False, batch_first=True, bidirectional=True)",
        nn.RNN(4, 5, num_layers=2, nonlinearity="relu", bias=False, batch_first=True, bidirectional=True), r(B, T, 4), h0=r(4, B, 5))
    rec("lstm", "nn.LSTM(4, 6)", nn.LSTM(4, 6), r(T, B, 4))
    rec("lstm_states", "nn.LSTM(4, 6) with (h0, c0)", nn.LSTM(4, 6), r(T, B, 4), h0=r(1, B, 6), c0=r(1, B, 6))
    rec("lstm_2l_bi", "nn.LSTM(4, 5, num_layers=2, bidirectional=True)", nn.LSTM(4, 5, num_layers=2, bidirectional=True),
        r(T, B, 4), h0=r(4, B, 5), c0=r(4, B, 5))
    rec("lstm_bf_nobias", "nn.LSTM(3, 4, bias=False, batch_first=True)", nn.LSTM(3, 4, bias=False, batch_first=True), r(B, T, 3))
    rec("gru", "nn.GRU(4, 6)", nn.GRU(4, 6), r(T, B, 4))
    rec("gru_2l_bi_bf", "nn.GRU(4, 5, num_layers=2, batch_first=True, bidirectional=True) with h0",
        nn.GRU(4, 5, num_layers=2, batch_first=True, bidirectional=True), r(B, T, 4), h0=r(4, B, 5))
    rec("gru_nobias", "nn.GRU(3, 4, bias=False)", nn.GRU(3, 4, bias=False), r(T, B, 3))
    rec("unbatched_gru", "nn.GRU(4, 3) on an unbatched (T, I) input", nn.GRU(4, 3), r(T, 4), h0=r(1, 3))
    lengths = [5, 2, 3]
    rec("lstm_lengths_bi", "nn.LSTM(4, 5, bidirectional=True) on pack_padded_sequence(x, [5, 2, 3])",
        nn.LSTM(4, 5, bidirectional=True), r(T, B, 4), h0=r(2, B, 5), c0=r(2, B, 5), lengths=lengths)
    rec("gru_lengths_2l_bf", "nn.GRU(4, 5, num_layers=2, batch_first=True) on a packed batch, lengths [5, 2, 3]",
        nn.GRU(4, 5, num_layers=2, batch_first=True), r(B, T, 4), lengths=lengths, batch_first=True)
    rec("rnn_lengths_bi", "nn.RNN(4, 5, bidirectional=True) on a packed batch, lengths [5, 2, 3]",
        nn.RNN(4, 5, bidirectional=True), r(T, B, 4), lengths=lengths)
    # Cells, one step.
    cell = nn.RNNCell(4, 5)
    b.module("rnn_cell", "nn.RNNCell(4, 5)(x) with zero state", cell, r(B, 4))
    for name, module, h in (("lstm_cell", nn.LSTMCell(4, 5), (r(B, 5), r(B, 5))), ("gru_cell", nn.GRUCell(4, 5), r(B, 5))):
        state = h
        wrapper = type("Step", (nn.Module,), {
            "__init__": lambda self, m=module: (nn.Module.__init__(self), setattr(self, "m", m))[0],
            "forward": lambda self, x, s=state: (torch.cat(self.m(x, s), 1) if isinstance(s, tuple) else self.m(x, s))})()
        b.module(name, f"{type(module).__name__}(4, 5) step with a given state, outputs concatenated", wrapper, r(B, 4))
        st = state if isinstance(state, tuple) else (state,)
        for i, t in enumerate(st):
            b.tensors[f"{name}/in/state{i}"] = t
    b.save("recurrent.safetensors")


def optim():
    """Optimizer trajectories: two parameters in two groups (the second with its own options), fixed
    gradients for 4 steps (the second parameter has none at step 2), the parameters after each step
    and the state dict at the end; learning-rate schedules; gradient clipping."""
    torch.manual_seed(5)
    t, meta = {}, {}
    p0, q0 = torch.randn(4, 3), torch.randn(3)
    grads = [(torch.randn(4, 3), torch.randn(3)) for _ in range(4)]
    t["p0"], t["q0"] = p0, q0
    for i, (g, h) in enumerate(grads):
        t[f"grad{i}"] = g
        if i != 2:
            t[f"qgrad{i}"] = h
    O = torch.optim
    settings = {
        "sgd": (O.SGD, dict(lr=0.1), {}),
        "sgd_momentum_wd": (O.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01), {}),
        "sgd_nesterov": (O.SGD, dict(lr=0.05, momentum=0.8, nesterov=True), {}),
        "sgd_groups": (O.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.05), dict(lr=0.5, weight_decay=0.0)),
        "adam": (O.Adam, dict(lr=0.01), {}),
        "adam_wd": (O.Adam, dict(lr=0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1), {}),
        "adam_amsgrad": (O.Adam, dict(lr=0.02, amsgrad=True), {}),
        "adamw": (O.AdamW, dict(lr=0.02, weight_decay=0.1), {}),
        "adamw_groups": (O.AdamW, dict(lr=0.02, weight_decay=0.1, amsgrad=True), dict(lr=0.005, weight_decay=0.0)),
        "rmsprop": (O.RMSprop, dict(lr=0.01), {}),
        "rmsprop_full": (O.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.5, centered=True), {}),
        "rmsprop_groups": (O.RMSprop, dict(lr=0.01, momentum=0.3), dict(lr=0.03)),
        "adagrad": (O.Adagrad, dict(lr=0.1), {}),
        "adagrad_full": (O.Adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2, eps=1e-6), {}),
    }
    for name, (cls, kw, group1) in settings.items():
        p, q = p0.clone().requires_grad_(True), q0.clone().requires_grad_(True)
        opt = cls([{"params": [p]}, {"params": [q], **group1}], **kw)
        for i, (g, h) in enumerate(grads):
            opt.zero_grad()
            p.grad = g.clone()
            q.grad = None if i == 2 else h.clone()
            opt.step()
            t[f"{name}/p{i}"] = p.detach().clone()
            t[f"{name}/q{i}"] = q.detach().clone()
        for index, st in opt.state_dict()["state"].items():
            for k, v in st.items():
                t[f"{name}/state.{index}.{k}"] = v.detach().clone().reshape(v.shape)
        meta[name] = f"torch.optim.{cls.__name__}([{{'params': [p]}}, {{'params': [q], **{group1}}}], **{kw})"
    save_file(t, os.path.join(ROOT, "optim.safetensors"), metadata=meta)
    print(f"optim.safetensors: {len(meta)} settings")

    # Learning-rate schedules: an optimizer over two groups (rates 0.1 and 0.02), the rates after
    # creation and after each of N steps (one optimizer step before each, as PyTorch asks).
    t, meta = {}, {}
    S = torch.optim.lr_scheduler
    def sched(name, call, make, steps, opt_cls=O.SGD, metrics=None, momentum_key=None):
        w, v = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
        opt = opt_cls([{"params": [w]}, {"params": [v], "lr": 0.02}], lr=0.1, **({"momentum": 0.9} if opt_cls is O.SGD else {}))
        s = make(opt)
        rates, moms = [[g["lr"] for g in opt.param_groups]], []
        def mom():
            return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]
        moms.append(mom())
        for k in range(steps):
            opt.step()
            if metrics is not None:
                s.step(metrics[k])
            else:
                s.step()
            rates.append([g["lr"] for g in opt.param_groups])
            moms.append(mom())
        t[f"{name}/lr"] = torch.tensor(rates, dtype=torch.float64)
        if momentum_key:
            t[f"{name}/momentum"] = torch.tensor(moms, dtype=torch.float64)
        if metrics is not None:
            t[f"{name}/metrics"] = torch.tensor(metrics, dtype=torch.float64)
        meta[name] = call
    sched("step", "StepLR(opt, step_size=3, gamma=0.5)", lambda o: S.StepLR(o, 3, gamma=0.5), 10)
    sched("multistep", "MultiStepLR(opt, milestones=[2, 5, 5, 8], gamma=0.3)", lambda o: S.MultiStepLR(o, [2, 5, 5, 8], gamma=0.3), 10)
    sched("exponential", "ExponentialLR(opt, gamma=0.9)", lambda o: S.ExponentialLR(o, 0.9), 8)
    sched("cosine", "CosineAnnealingLR(opt, T_max=6, eta_min=0.001) for 15 steps (past T_max)",
          lambda o: S.CosineAnnealingLR(o, 6, eta_min=0.001), 15)
    sched("linear", "LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=4)",
          lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4), 8)
    sched("warmup_cosine", "ChainedScheduler([LinearLR(opt, 0.1, total_iters=3), CosineAnnealingLR(opt, T_max=10)])",
          lambda o: S.ChainedScheduler([S.LinearLR(o, 0.1, total_iters=3), S.CosineAnnealingLR(o, 10)]), 12)
    sched("onecycle_sgd", "OneCycleLR(opt, max_lr=0.5, total_steps=12) (SGD momentum 0.9)",
          lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=12), 12, momentum_key=True)
    sched("onecycle_adam_linear_3phase", "OneCycleLR(Adam, max_lr=0.01, total_steps=10, pct_start=0.4, anneal_strategy='linear', three_phase=True, div_factor=10, final_div_factor=100)",
          lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=10, pct_start=0.4, anneal_strategy="linear", three_phase=True,
                                 div_factor=10, final_div_factor=100), 10, opt_cls=O.Adam, momentum_key=True)
    sched("plateau", "ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.004)",
          lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1, min_lr=0.004), 14,
          metrics=[1.0, 0.9, 0.95, 0.96, 0.97, 0.899, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97])
    sched("plateau_max_abs", "ReduceLROnPlateau(opt, mode='max', threshold=0.01, threshold_mode='abs', patience=1)",
          lambda o: S.ReduceLROnPlateau(o, mode="max", threshold=0.01, threshold_mode="abs", patience=1), 8,
          metrics=[0.5, 0.6, 0.605, 0.61, 0.7, 0.705, 0.706, 0.707])
    save_file(t, os.path.join(ROOT, "schedules.safetensors"), metadata=meta)
    print(f"schedules.safetensors: {len(meta)} schedules")

    # Gradient clipping.
    t, meta = {}, {}
    gs = [torch.randn(3, 4) * 2, torch.randn(5), torch.randn(2, 2) * 3]
    for k, g in enumerate(gs):
        t[f"g{k}"] = g
    for name, max_norm, norm_type in [("l2", 1.0, 2.0), ("l1", 2.0, 1.0), ("inf", 0.5, float("inf")), ("l3", 1.5, 3.0), ("no_clip", 100.0, 2.0)]:
        ps = [torch.zeros_like(g, requires_grad=True) for g in gs]
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
        t[f"{name}/total"] = total.detach().clone().reshape(())
        for k, p in enumerate(ps):
            t[f"{name}/g{k}"] = p.grad.clone()
        meta[name] = f"clip_grad_norm_(params, max_norm={max_norm}, norm_type={norm_type})"
    ps = [torch.zeros_like(g, requires_grad=True) for g in gs]
    for p, g in zip(ps, gs):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_value_(ps, 1.25)
    for k, p in enumerate(ps):
        t[f"value/g{k}"] = p.grad.clone()
    meta["value"] = "clip_grad_value_(params, clip_value=1.25)"
    save_file(t, os.path.join(ROOT, "clipping.safetensors"), metadata=meta)
    print(f"clipping.safetensors: {len(meta)} cases")


def cnn_model():
    import torch.nn as nn
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.LeakyReLU(0.1),
        nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.Tanh(),
        nn.Upsample(scale_factor=2, mode="bilinear"), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(4 * 8 * 8, 5))


def cnn_interop():
    """A CNN trained a few steps in PyTorch (so BatchNorm has running statistics), its state dict,
    an input and its eval-mode output; and the check of the Descent-written counterpart."""
    torch.manual_seed(1)
    model = cnn_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model(torch.randn(8, 1, 8, 8)), torch.randint(0, 5, (8,))).backward()
        opt.step()
    model.eval()
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        y = model(x)
    t = {f"state/{k}": v.contiguous() for k, v in model.state_dict().items()}
    t["input"], t["output"] = x, y
    save_file(t, os.path.join(ROOT, "cnn_from_pytorch.safetensors"), metadata={"model": "cnn_model() in Scripts/make_fixtures.py"})
    print("cnn_from_pytorch.safetensors")
    path = os.path.join(ROOT, "cnn_from_descent.safetensors")
    io_path = os.path.join(ROOT, "cnn_from_descent_io.safetensors")
    if os.path.exists(path) and os.path.exists(io_path):
        m = cnn_model()
        m.load_state_dict(load_file(path), strict=True)
        m.eval()
        io = load_file(io_path)
        with torch.no_grad():
            out = m(io["input"])
        assert torch.allclose(out, io["output"], atol=1e-5, rtol=1e-4), (out - io["output"]).abs().max()
        print("cnn_from_descent.safetensors loads in PyTorch (strict=True) and gives Descent's outputs")
    else:
        print("cnn_from_descent*.safetensors missing: run the Swift tests once, then rerun", file=sys.stderr)


def autocast():
    """bfloat16 autocast: layers run under torch.autocast("cpu", dtype=torch.bfloat16), the
    output cast to float32, backward (outside autocast) from a random upstream gradient.
    Each case stores as Book.module does, plus ref32/out/<i>: the same layer in float32
    (the tests check Descent's autocast output is much closer to PyTorch's autocast than that).
    LSTM and GRU: PyTorch's autocast LSTM needs oneDNN bf16 support this CPU lacks (and its GRU
    is not on the autocast list), so those two cases run the cell equations step by step with
    each product x·W_ihᵀ and h·W_hhᵀ a matmul under autocast, gates in float32: the recipe
    Descent's autocast follows for every recurrent layer."""
    torch.manual_seed(7)
    import torch.nn as nn
    b = Book()

    class MatmulParam(nn.Module):
        def __init__(self, k, n):
            super().__init__()
            self.b = nn.Parameter(torch.randn(k, n))

        def forward(self, x):
            return x @ self.b

    def lstm_steps(m, x):
        W_ih, W_hh, b_ih, b_hh = m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0
        B, T, _ = x.shape
        H = W_hh.shape[1]
        h = torch.zeros(B, H)
        c = torch.zeros(B, H)
        proj = (x.reshape(B * T, -1) @ W_ih.t()).float().reshape(B, T, -1) + (b_ih + b_hh)
        outs = []
        for t in range(T):
            g = proj[:, t] + (h @ W_hh.t()).float()
            i, f, gg, o = g.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs, 1), h.unsqueeze(0), c.unsqueeze(0)

    def gru_steps(m, x):
        W_ih, W_hh, b_ih, b_hh = m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0
        B, T, _ = x.shape
        H = W_hh.shape[1]
        h = torch.zeros(B, H)
        proj = (x.reshape(B * T, -1) @ W_ih.t()).float().reshape(B, T, -1) + b_ih
        outs = []
        for t in range(T):
            gi = proj[:, t]
            gh = (h @ W_hh.t()).float() + b_hh
            ir, iz, inn = gi.chunk(3, 1)
            hr, hz, hn = gh.chunk(3, 1)
            r = torch.sigmoid(ir + hr)
            z = torch.sigmoid(iz + hz)
            n = torch.tanh(inn + r * hn)
            h = (1 - z) * n + z * h
            outs.append(h)
        return torch.stack(outs, 1), h.unsqueeze(0)

    def case(name, call, module, x, run=None):
        run = run or (lambda m, x: m(x))
        module.zero_grad(set_to_none=True)
        for k, v in module.state_dict().items():
            b.tensors[f"{name}/state/{k}"] = v.detach().clone().contiguous()
        b.tensors[f"{name}/config/train"] = torch.tensor(1)
        b.tensors[f"{name}/config/steps"] = torch.tensor(1)
        with torch.no_grad():
            ref = run(module, x)
        ref = list(ref) if isinstance(ref, tuple) else [ref]
        x = x.detach().clone().requires_grad_(True)
        b.tensors[f"{name}/in/x"] = x.detach().clone()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = run(module, x)
        outs = [o.float() for o in (out if isinstance(out, tuple) else [out])]
        gs = []
        for i, (o, o32) in enumerate(zip(outs, ref)):
            b.tensors[f"{name}/out/{i}"] = o.detach().clone().contiguous()
            b.tensors[f"{name}/ref32/out/{i}"] = o32.detach().clone().contiguous()
            g = torch.randn(o.shape)
            b.tensors[f"{name}/gout/{i}"] = g
            gs.append(g)
        torch.autograd.backward(outs, gs)
        b.tensors[f"{name}/grad/x"] = x.grad.detach().clone()
        for k, p in module.named_parameters():
            b.tensors[f"{name}/pgrad/{k}"] = p.grad.detach().clone().contiguous()
        b.meta[name] = call

    case("linear", "nn.Linear(48, 24)", nn.Linear(48, 24), r(16, 48))
    case("linear_3d", "nn.Linear(32, 12) on (2, 5, 32)", nn.Linear(32, 12), r(2, 5, 32))
    case("matmul", "x @ b, b (40, 24)", MatmulParam(40, 24), r(12, 40))
    case("conv2d", "nn.Conv2d(3, 8, 3, stride=2, padding=1)", nn.Conv2d(3, 8, 3, stride=2, padding=1), r(2, 3, 9, 9))
    case("conv1d", "nn.Conv1d(4, 6, 3, padding=1)", nn.Conv1d(4, 6, 3, padding=1), r(2, 4, 11))
    case("conv_transpose2d", "nn.ConvTranspose2d(6, 4, 4, stride=2, padding=1)", nn.ConvTranspose2d(6, 4, 4, stride=2, padding=1), r(2, 6, 5, 5))
    case("rnn", "nn.RNN(8, 16, batch_first=True)", nn.RNN(8, 16, batch_first=True), r(3, 6, 8))
    case("lstm", "nn.LSTM(8, 16, batch_first=True), products under autocast step by step",
         nn.LSTM(8, 16, batch_first=True), r(3, 6, 8), run=lstm_steps)
    case("gru", "nn.GRU(8, 16, batch_first=True), products under autocast step by step",
         nn.GRU(8, 16, batch_first=True), r(3, 6, 8), run=gru_steps)
    case("cnn", "cnn_model() (BatchNorm in training mode)", cnn_model(), r(4, 1, 8, 8))
    # A weight used twice in one autocast region: PyTorch casts it to bfloat16 once (its autocast
    # cache) and the two uses' gradients (1 and 1 + 2^-7) meet in that copy's gradient, which is
    # rounded: 2 + 2^-7 is a tie between two bfloat16 values and goes to the even one, 2. A cast
    # per use would give each use's gradient its own float32 weight gradient: 2 + 2^-7.
    lin = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    xs = torch.tensor([[1.0], [1.0 + 2 ** -7]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = lin(xs[0:1]).float() + lin(xs[1:2]).float()
    y.sum().backward()
    b.tensors["shared_weight/x"] = xs
    b.tensors["shared_weight/weight_grad"] = lin.weight.grad.detach().clone()
    b.meta["shared_weight"] = "nn.Linear(1, 1, bias=False), weight 1, applied to 1 and 1 + 2^-7 in one autocast region"
    # 3×3 stride-1 convolutions that Descent runs by Winograd's F(4×4, 3×3) on AVX512-BF16 CPUs
    # (rows of 7 or 8 tiles of 4; paddings 1 and 2, the second's input gradient padded 0).
    case("conv2d_3x3_rows", "nn.Conv2d(32, 48, 3, padding=1) on (2, 32, 28, 30)", nn.Conv2d(32, 48, 3, padding=1), r(2, 32, 28, 30))
    case("conv2d_3x3_pad2", "nn.Conv2d(48, 32, 3, padding=2) on (2, 48, 26, 27)", nn.Conv2d(48, 32, 3, padding=2), r(2, 48, 26, 27))
    b.save("autocast.safetensors")


def distributed():
    """DistributedSampler's indices without shuffling (the shuffled order comes from each
    library's own generator): padding, dropping and striding for several sizes and rank counts."""
    from torch.utils.data import DistributedSampler
    book = Book()
    for n in (10, 7, 3, 12):
        for replicas in (1, 2, 3, 4):
            for drop in (False, True):
                name = f"sampler/n{n}_replicas{replicas}_drop{int(drop)}"
                for rank in range(replicas):
                    s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop)
                    book.tensors[f"{name}/rank{rank}"] = torch.tensor(list(iter(s)) or [-1], dtype=torch.int64)
                    book.tensors[f"{name}/count{rank}"] = torch.tensor(len(s))
                book.meta[name] = f"DistributedSampler(range({n}), num_replicas={replicas}, shuffle=False, drop_last={drop})"
    book.save("distributed.safetensors")


if __name__ == "__main__":
    if sys.argv[1:]:
        # Only the named sections, e.g. `make_fixtures.py autocast safetensors_interop`.
        for section in sys.argv[1:]:
            globals()[section]()
        sys.exit(0)
    optim()
    recurrent()
    layers()
    cnn_interop()
    ops()
    creation()
    safetensors_interop()
    autocast()
    distributed()
