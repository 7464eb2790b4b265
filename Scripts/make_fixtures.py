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

    def case(self, name, call, fn, **inputs):
        ins = {}
        for k, v in inputs.items():
            v = v.detach().clone()
            if v.is_floating_point():
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
                if v.is_floating_point():
                    gr = v.grad if v.grad is not None else torch.zeros_like(v)
                    self.tensors[f"{name}/grad/{k}"] = gr.detach().clone().contiguous()
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
        }
        assert set(d) == set(expected), sorted(d)
        for k, v in expected.items():
            assert d[k].dtype == v.dtype and d[k].shape == v.shape and torch.equal(d[k], v), k
        print("written_by_descent.safetensors loads in PyTorch with the expected values")
    else:
        print("written_by_descent.safetensors missing: run the Swift tests once, then rerun", file=sys.stderr)


if __name__ == "__main__":
    ops()
    creation()
    safetensors_interop()
