#!/usr/bin/env python3
"""Runs Descent's benchmarks and PyTorch's side by side, interleaved, and prints ratios.

    swift build -c release
    $(../shared/tools/torch-venv.sh) Scripts/bench_compare.py gemm [--rounds 5] [--threads 2]
    $(../shared/tools/torch-venv.sh) Scripts/bench_compare.py workloads [--rounds 5] [--threads 2]

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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("suite", choices=["gemm", "workloads"])
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
    if args.suite == "workloads":
        for _ in range(args.rounds):
            for k, v in descent_workloads(args.descent, args.threads, args.reps).items():
                ours.setdefault(k, []).append(v)
            time.sleep(1)
            for k, v in torch_workloads(args.threads, args.reps).items():
                theirs.setdefault(k, []).append(v)
            time.sleep(1)
        import torch
        print(f"# workloads, milliseconds, {args.threads} threads, median of {args.rounds} interleaved rounds; torch {torch.__version__}")
        print("# ratio: of the two medians; paired: median over rounds of each round's ratio")
        print(f"{'workload':36} {'Descent':>9} {'PyTorch':>9} {'ratio':>7} {'paired':>7}")
        for k in theirs:
            t = statistics.median(theirs[k])
            if k not in ours:
                print(f"{k:36} {'-':>9} {t:9.3f} {'n/a':>7}")
                continue
            d = statistics.median(ours[k])
            flip = k.endswith("gflops")
            ratio = t / d if flip else d / t
            paired = statistics.median((b / a if flip else a / b) for a, b in zip(ours[k], theirs[k]))
            print(f"{k:36} {d:9.3f} {t:9.3f} {ratio:7.2f} {paired:7.2f}")
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
