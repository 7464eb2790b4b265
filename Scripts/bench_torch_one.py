#!/usr/bin/env python3
"""One PyTorch training workload of ../shared/bench/torch_reference.py, alone in its process:
for peak memory (max RSS) and for batch-size and thread scaling (Scripts/bench_compare.py).

    python3 Scripts/bench_torch_one.py WORKLOAD THREADS REPS [BATCH]

WORKLOAD is one of mlp, cnn, cnn_bn, lstm, gru, resnet, and mlp_bf16, cnn_bf16, resnet_bf16,
lstm_bf16, gru_bf16 (bfloat16 autocast; the reference script has no autocast RNN step, so these
wrap its RNN step's forward in `torch.autocast` as its `autocast_step` does); `import` reports the process with torch imported and nothing run. The models, the step (`train_step`, `autocast_step`), the ResNet's `Block`
and `timeit` are the reference's own: its imports, function and class definitions and its model
assignments are executed from its source, nothing else of it. Prints `median_ms peak_rss_mb`
(VmHWM).
"""
import ast, os, sys

ROOT = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(ROOT, "..", "..", "shared", "bench", "torch_reference.py")


def reference_namespace(threads, reps):
    tree = ast.parse(open(REFERENCE).read())
    models = {"mlp", "cnn", "cnnbn", "resnet"}
    keep = [n for n in tree.body
            if isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
            or (isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and n.targets[0].id in models)]
    ns = {"threads": threads, "reps": reps, "__name__": "reference"}
    exec(compile(ast.Module(body=keep, type_ignores=[]), REFERENCE, "exec"), ns)
    return ns


def main():
    name, threads, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    known = ["mlp", "cnn", "cnn_bn", "lstm", "gru", "resnet"]
    if name != "import" and name not in known + [k + "_bf16" for k in known]:
        sys.exit(f"bench_torch_one.py: unknown workload {name!r}; expected import or one of "
                 + ", ".join(known) + ", each also with _bf16")
    ns = reference_namespace(threads, reps)
    torch, F = ns["torch"], ns["F"]
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    base = name[:-5] if name.endswith("_bf16") else name
    if base == "import":  # the baseline: torch imported, the reference's models built, no step run
        hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
        print(f"0 {hwm * 1024 / 1e6:.1f}")
        return
    step_of = ns["autocast_step"] if name.endswith("_bf16") else (lambda m, x, y: ns["train_step"](m, x, y, F.cross_entropy))
    if base in ("mlp", "cnn", "cnn_bn"):
        b = int(sys.argv[4]) if len(sys.argv) > 4 else 64
        model = ns[{"mlp": "mlp", "cnn": "cnn", "cnn_bn": "cnnbn"}[base]]
        x = torch.randn(b, 784) if base == "mlp" else torch.randn(b, 1, 28, 28)
        step = step_of(model, x, torch.randint(0, 10, (b,)))
    elif base == "resnet":
        b = int(sys.argv[4]) if len(sys.argv) > 4 else 32
        step = step_of(ns["resnet"], torch.randn(b, 3, 32, 32), torch.randint(0, 10, (b,)))
    else:  # lstm, gru: as the reference's loop builds them
        nn = ns["nn"]
        rnn = (nn.LSTM if base == "lstm" else nn.GRU)(64, 128, batch_first=True)
        head = nn.Linear(128, 1)
        x, y = torch.randn(32, 50, 64), torch.randn(32, 1)
        opt = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=0.01)
        autocast = name.endswith("_bf16")
        def step():
            opt.zero_grad(set_to_none=False)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = F.mse_loss(head(rnn(x)[0][:, -1]), y)
            loss.backward()
            opt.step()
    ms = ns["timeit"](step, reps=reps)
    # VmHWM: the peak of this program (ru_maxrss would include the parent's memory at the fork).
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(f"{ms:.4f} {hwm * 1024 / 1e6:.1f}")


if __name__ == "__main__":
    main()
