#!/usr/bin/env python3
"""Runs Descent's benchmarks and PyTorch's side by side, interleaved, and prints ratios.

    swift build -c release
    $(../shared/tools/torch-venv.sh) Scripts/bench_compare.py gemm [--rounds 5] [--threads 2]
    $(../shared/tools/torch-venv.sh) Scripts/bench_compare.py workloads [--rounds 5] [--threads 2]

    $(../shared/tools/torch-venv.sh) Scripts/bench_compare.py report [--rounds 5] [--threads 2]

report: every suite below, written into BENCHMARKS.md (between its generated markers) and
docs/benchmark-ratios.svg (drawn by `descent bench plot`).
memory: peak resident memory (max RSS) of each training workload, each alone in a process
(Descent: `descent bench workloads --exact --memory`; PyTorch: Scripts/bench_torch_one.py).
scaling: the CNN and ResNet steps at batch 16, 64 and 256 on 1 and 2 threads, likewise.

workloads: `descent bench workloads --json` against ../shared/bench/torch_reference.py (the
same models, shapes and training steps), in milliseconds; the ratio columns are Descent time ÷
PyTorch time (lower is better; below 1 means Descent is faster): of the medians over rounds,
and the median over rounds of each round's ratio.

gemm: `descent bench gemm --json` against `a @ b` in PyTorch on the same shapes and forms
(nn: A·B, nt: A·Bᵀ, tn: Aᵀ·B, with the transposed operand a view as backward passes it).
Each round runs, shape by shape, Descent once and PyTorch once, alternating, so that the two
measurements of a pair are seconds apart (the machine's load changes on that scale). Three
statistics are compared: the median over rounds of each round's median run, the median over
rounds of each pair's ratio, and the best run of all rounds (on a shared, noisy machine other
work only ever adds time, so the best run is the least disturbed one).
The ratio columns are Descent GFLOP/s ÷ PyTorch GFLOP/s (higher is better).
The machines are shared and noisy: read ratios, not absolute numbers.
"""
import argparse, json, os, statistics, subprocess, sys, time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SHAPES = [(64, 256, 784), (32, 512, 128), (64, 16384, 576), (1024, 1024, 1024)]


def torch_gemm(threads, reps, forms, shapes):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    out = {}
    for m, n, k in shapes:
        for form in forms:
            a = torch.randn(k, m).t() if form == "tn" else torch.randn(m, k)
            b = torch.randn(n, k).t() if form == "nt" else torch.randn(k, n)
            r = max(3, reps // 2) if m * n * k > 500_000_000 else reps
            for _ in range(3):
                a @ b
            ts = []
            for _ in range(r):
                t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
            out[f"gemm_{m}x{n}x{k}_{form}"] = 2 * m * n * k / statistics.median(ts) / 1e9
            out[f"best_gemm_{m}x{n}x{k}_{form}"] = 2 * m * n * k / min(ts) / 1e9
    return out


def descent_gemm(binary, threads, reps, forms, shapes):
    cmd = [binary, "bench", "gemm", "--json", "--threads", str(threads), "--reps", str(reps), "--forms", ",".join(forms),
           "--shapes", ",".join(f"{m}x{n}x{k}" for m, n, k in shapes)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def torch_workloads(threads, reps):
    script = os.path.join(ROOT, "..", "shared", "bench", "torch_reference.py")
    res = subprocess.run([sys.executable, script, str(threads), str(reps)], capture_output=True, text=True, check=True)
    return {line.split()[0]: float(line.split()[1]) for line in res.stdout.strip().splitlines()}


def descent_workloads(binary, threads, reps):
    cmd = [binary, "bench", "workloads", "--json", "--threads", str(threads), "--reps", str(reps)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


TRAINING = [("mlp", "mlp_train_b64"), ("cnn", "cnn_train_b64"), ("cnn_bn", "cnn_bn_train_b64"),
            ("lstm", "lstm_train_s50_b32_h128"), ("gru", "gru_train_s50_b32_h128"), ("resnet", "resnet_train_b32_32x32"),
            ("mlp_bf16", "mlp_train_b64_bf16"), ("cnn_bf16", "cnn_train_b64_bf16"), ("resnet_bf16", "resnet_train_b32_32x32_bf16"),
            ("lstm_bf16", "lstm_train_s50_b32_h128_bf16"), ("gru_bf16", "gru_train_s50_b32_h128_bf16")]
TORCH_ONE = os.path.join(ROOT, "Scripts", "bench_torch_one.py")
# Workloads of Descent's that the reference script does not time: PyTorch's side is
# bench_torch_one.py (the reference's RNN step under autocast), run in the same rounds.
EXTRA = [("lstm_bf16", "lstm_train_s50_b32_h128_bf16"), ("gru_bf16", "gru_train_s50_b32_h128_bf16")]


def descent_one(binary, name, threads, reps, batch=None):
    """(median ms, max RSS MB) of one Descent workload alone in its process."""
    cmd = [binary, "bench", "workloads", "--json", "--memory", "--exact", "--filter", name, "--threads", str(threads), "--reps", str(reps)]
    if batch:
        cmd += ["--batch-size", str(batch)]
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    return out[name], out["max_rss_mb"]


def torch_one(workload, threads, reps, batch=None):
    """(median ms, max RSS MB) of one PyTorch workload alone in its process."""
    cmd = [sys.executable, TORCH_ONE, workload, str(threads), str(reps)] + ([str(batch)] if batch else [])
    ms, rss = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return float(ms), float(rss)


def workloads_suite(args):
    """Both reference runs, interleaved round by round: {name: (Descent, PyTorch, ratio, paired)}."""
    ours, theirs = {}, {}
    for _ in range(args.rounds):
        for k, v in descent_workloads(args.descent, args.threads, args.reps).items():
            ours.setdefault(k, []).append(v)
        time.sleep(1)
        for k, v in torch_workloads(args.threads, args.reps).items():
            theirs.setdefault(k, []).append(v)
        for workload, name in EXTRA:
            theirs.setdefault(name, []).append(torch_one(workload, args.threads, args.reps)[0])
        time.sleep(1)
    rows = {}
    for k in theirs:
        if k not in ours:
            continue
        d, t = statistics.median(ours[k]), statistics.median(theirs[k])
        flip = k.endswith("gflops")
        ratio = t / d if flip else d / t
        paired = statistics.median((b / a if flip else a / b) for a, b in zip(ours[k], theirs[k]))
        rows[k] = (d, t, ratio, paired)
    return rows


def memory_suite(args):
    """Peak resident memory of each training workload, each alone in a process: {name: (Descent MB, PyTorch MB)}."""
    rows = {"import": (0.0, torch_one("import", args.threads, 1)[1])}
    for workload, name in TRAINING:
        rows[name] = (descent_one(args.descent, name, args.threads, 10)[1], torch_one(workload, args.threads, 10)[1])
    return rows


def scaling_suite(args):
    """CNN and ResNet steps at batch 16, 64, 256 on 1 and 2 threads: {(model, batch, threads): (Descent ms, PyTorch ms)}."""
    rows = {}
    for model in ("cnn", "resnet"):
        for batch in (16, 64, 256):
            for threads in (1, 2):
                name = f"cnn_train_b{batch}" if model == "cnn" else f"resnet_train_b{batch}_32x32"
                reps = max(5, args.reps // (4 if batch == 256 else 2))
                ds, ts = [], []
                for _ in range(max(1, args.rounds // 2)):
                    ds.append(descent_one(args.descent, name, threads, reps, batch)[0])
                    ts.append(torch_one(model, threads, reps, batch)[0])
                rows[(model, batch, threads)] = (statistics.median(ds), statistics.median(ts))
    return rows


def print_workloads(rows, args):
    import torch
    print(f"# workloads, milliseconds, {args.threads} threads, median of {args.rounds} interleaved rounds; torch {torch.__version__}")
    print("# ratio: of the two medians; paired: median over rounds of each round's ratio")
    print(f"{'workload':36} {'Descent':>9} {'PyTorch':>9} {'ratio':>7} {'paired':>7}")
    for k, (d, t, ratio, paired) in rows.items():
        print(f"{k:36} {d:9.3f} {t:9.3f} {ratio:7.2f} {paired:7.2f}")


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def cpu_flags():
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16") if f in flags)
    return ""


def bfloat16_backend(binary):
    """The instructions Descent's bfloat16 products run on here, as `descent info` names them."""
    out = subprocess.run([binary, "info"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("bfloat16 products (autocast): "):
            return line.split(": ", 1)[1]
    return "unknown"


def report(args):
    """Runs every suite and writes the generated part of BENCHMARKS.md and docs/benchmark-ratios.svg."""
    import datetime, torch
    work = workloads_suite(args)
    print_workloads(work, args)
    memory = memory_suite(args)
    scaling = scaling_suite(args)
    out = []
    cmd = f"Scripts/bench_compare.py report --rounds {args.rounds} --reps {args.reps} --threads {args.threads}"
    out.append(f"Measured {datetime.date.today().isoformat()} on **{cpu_model()}** ({os.cpu_count()} CPUs; {cpu_flags()}), "
               f"{args.threads} threads, PyTorch {torch.__version__}, Descent at commit "
               f"`{subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True, cwd=ROOT).stdout.strip()}` "
               f"(bfloat16 products on {bfloat16_backend(args.descent)}). "
               f"Reproduce: `swift build -c release && $(../shared/tools/torch-venv.sh) {cmd}`.")
    out.append("")
    out.append("### Every workload, side by side")
    out.append("")
    out.append(f"Median milliseconds over {args.rounds} rounds, each round running Descent's `descent bench workloads` and "
               "PyTorch's `torch_reference.py` one after the other (the LSTM and GRU steps under autocast, which the "
               "reference does not time, by `Scripts/bench_torch_one.py` in the same round). Ratio: Descent time ÷ PyTorch time (below 1: Descent "
               "faster); for the GFLOP/s rows PyTorch's rate ÷ Descent's, so that below 1 still means Descent faster. "
               "Paired: the median over rounds of each round's ratio.")
    out.append("")
    out.append("| workload | Descent | PyTorch | ratio | paired |")
    out.append("|---|---:|---:|---:|---:|")
    for k, (d, t, ratio, paired) in work.items():
        out.append(f"| `{k}` | {d:.3f} | {t:.3f} | {ratio:.2f} | {paired:.2f} |")
    f32 = [v[2] for k, v in work.items() if "bf16" not in k and k != "sgemm_1024_ms"]
    geo = statistics.geometric_mean(f32)
    out.append("")
    out.append(f"Geometric mean of the float32 ratios (sgemm counted once): **{geo:.2f}**.")
    out.append("")
    out.append("![ratios](docs/benchmark-ratios.svg)")
    out.append("")
    out.append("### The speed issue's targets, checked against this run")
    out.append("")
    out.append("| target | measured | met |")
    out.append("|---|---|---|")
    def target(text, measured, ok):
        out.append(f"| {text} | {measured} | {'yes' if ok else '**no**'} |")
    # sgemm has a target of its own (≥ 1.0× PyTorch's rate, below).
    over = [f"`{k}` {v[2]:.2f}" for k, v in work.items() if "bf16" not in k and not k.startswith("sgemm_") and v[2] > 0.8]
    target("every float32 workload ≤ 0.8 (sgemm: its own target below)", "above: " + ", ".join(over) if over else "all", not over)
    target("geometric mean ≤ 0.45", f"{geo:.2f}", geo <= 0.45)
    for k, bound in (("mlp_train_b64", 0.5), ("cnn_infer_b1", 0.4)):
        target(f"`{k}` ≤ {bound}", f"{work[k][2]:.2f}", work[k][2] <= bound)
    bf = {k: v for k, v in work.items() if k.endswith("_bf16") or k == "bgemm_1024_bf16_gflops"}
    over = [f"`{k}` {v[2]:.2f}" for k, v in bf.items() if k != "bgemm_1024_bf16_gflops" and v[2] > 0.7]
    target("every `_bf16` workload ≤ 0.7 of PyTorch's autocast", "above: " + ", ".join(over) if over else "all", not over)
    for k in ("cnn_train_b64", "resnet_train_b32_32x32", "conv3x3_64_fwdbwd_b16_32x32"):
        f32, b16 = work[k][0], work[k + "_bf16"][0]
        target(f"`{k}_bf16` faster than Descent's float32 step", f"{b16:.2f} ms against {f32:.2f} ms", b16 < f32)
    target("bf16 GEMM 1024³ ≥ 1.0× PyTorch's", f"{1 / work['bgemm_1024_bf16_gflops'][2]:.2f}×", work["bgemm_1024_bf16_gflops"][2] <= 1)
    target("sgemm 1024³ ≥ 1.0× PyTorch's", f"{1 / work['sgemm_1024_gflops'][2]:.2f}×", work["sgemm_1024_gflops"][2] <= 1)
    over = [k for k, (d, t) in memory.items() if k != "import" and d > t]
    target("peak memory of each training workload ≤ PyTorch's", "above: " + ", ".join(over) if over else "all below", not over)
    out.append("")
    out.append("### Peak memory of the training workloads")
    out.append("")
    out.append("Peak resident set size (VmHWM) of a process that builds one workload and runs 10 timed steps after 5 "
               "warm-up steps, in MB. PyTorch's includes its libraries: `import torch` alone reaches about half a "
               "gigabyte here.")
    out.append("")
    base = memory["import"][1]
    out.append(f"| workload | Descent MB | PyTorch MB | PyTorch above its {base:.0f} MB after import | ratio |")
    out.append("|---|---:|---:|---:|---:|")
    for k, (d, t) in memory.items():
        if k != "import":
            out.append(f"| `{k}` | {d:.0f} | {t:.0f} | {t - base:.0f} | {d / t:.2f} |")
    out.append("")
    out.append("### Scaling with batch size and threads")
    out.append("")
    runs = max(1, args.rounds // 2)
    out.append("Milliseconds per training step, each measurement a process of its own ("
               + ("one run each" if runs == 1 else f"median of {runs} alternating runs")
               + "), and the per-sample time relative to batch 16 on the same "
               "thread count (below 1: larger batches use the machine better).")
    out.append("")
    out.append("| model | batch | threads | Descent ms | PyTorch ms | ratio | Descent per sample vs b16 | PyTorch per sample vs b16 |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for (model, batch, threads), (d, t) in scaling.items():
        d16, t16 = scaling[(model, 16, threads)]
        out.append(f"| {model} | {batch} | {threads} | {d:.2f} | {t:.2f} | {d / t:.2f} | {d / batch / (d16 / 16):.2f} | {t / batch / (t16 / 16):.2f} |")
    out.append("")
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n<!-- generated:begin -->\n<!-- generated:end -->\n"
    begin, end = text.index("<!-- generated:begin -->"), text.index("<!-- generated:end -->")
    text = text[:begin] + "<!-- generated:begin -->\n" + "\n".join(out) + "\n" + text[end:]
    open(path, "w").write(text)
    bars = [[k, v[2]] for k, v in work.items() if k != "sgemm_1024_ms"]
    plot_input = os.path.join(ROOT, ".build", "benchmark-ratios.json")
    json.dump(bars, open(plot_input, "w"))
    subprocess.run([args.descent, "bench", "plot", "--input", plot_input, "--output", os.path.join(ROOT, "docs", "benchmark-ratios.svg"),
                    "--title", f"Descent time ÷ PyTorch time, {args.threads} threads ({cpu_model()})", "--target", "0.8"], check=True)
    print("wrote BENCHMARKS.md and docs/benchmark-ratios.svg")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("suite", choices=["gemm", "workloads", "memory", "scaling", "report"])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--forms", default="nn,nt,tn")
    p.add_argument("--descent", default=os.path.join(ROOT, ".build", "release", "descent"))
    args = p.parse_args()
    if not os.path.exists(args.descent):
        sys.exit(f"{args.descent} not found: run `swift build -c release` first")
    forms = args.forms.split(",")
    ours, theirs = {}, {}
    if args.suite == "report":
        report(args)
        return
    if args.suite == "memory":
        for k, (d, t) in memory_suite(args).items():
            print(f"{k:36} Descent {d:7.0f} MB  PyTorch {t:7.0f} MB  ratio {d / max(t, 1):.2f}")
        return
    if args.suite == "scaling":
        for (model, batch, threads), (d, t) in scaling_suite(args).items():
            print(f"{model:7} batch {batch:4} threads {threads}  Descent {d:9.2f} ms  PyTorch {t:9.2f} ms  ratio {d / t:.2f}")
        return
    if args.suite == "workloads":
        print_workloads(workloads_suite(args), args)
        return
    for _ in range(args.rounds):
        for shape in SHAPES:
            for k, v in descent_gemm(args.descent, args.threads, args.reps, forms, [shape]).items():
                ours.setdefault(k, []).append(v)
            time.sleep(0.5)  # let Descent's pool threads go idle before PyTorch runs
            for k, v in torch_gemm(args.threads, args.reps, forms, [shape]).items():
                theirs.setdefault(k, []).append(v)
            time.sleep(0.5)  # PyTorch's OpenMP threads spin for a while after the last parallel region
    import torch
    print(f"# GEMM GFLOP/s, float32, {args.threads} threads, {args.rounds} interleaved rounds; torch {torch.__version__}")
    print("# median: median over rounds of each round's median run; paired: median over rounds of the")
    print("# ratio of each round's two median runs; best: the best run of all rounds")
    print(f"{'workload':26} {'median: Descent':>15} {'PyTorch':>8} {'ratio':>6}   {'paired':>6}   {'best: Descent':>13} {'PyTorch':>8} {'ratio':>6}")
    for k in ours:
        if k.startswith("best_"):
            continue
        d, t = statistics.median(ours[k]), statistics.median(theirs[k])
        paired = statistics.median(a / b for a, b in zip(ours[k], theirs[k]))
        bd, bt = max(ours["best_" + k]), max(theirs["best_" + k])
        print(f"{k:26} {d:15.1f} {t:8.1f} {d / t:6.2f}   {paired:6.2f}   {bd:13.1f} {bt:8.1f} {bd / bt:6.2f}")


if __name__ == "__main__":
    main()
