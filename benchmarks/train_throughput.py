"""Training throughput of our UNet1D beside two peer 1-D U-Nets, on the same clips and batch (issue 4).

For each model (each in a fresh subprocess, so that its memory high-water mark is its own):
train samples per second (forward + backward + AdamW step on eps-prediction MSE, median over
timed repeats after warm-up), peak memory, FLOPs of one training step counted with
``torch.utils.flop_counter.FlopCounterMode``, and the achieved FLOP rate as a fraction of the
machine's 2048x2048 float32 matmul rate measured at the start. A model that cannot be built
(a peer not installed) becomes a "skipped: <reason>" row.

    python benchmarks/train_throughput.py                    # full table, about 5 minutes on 2 cores
    python benchmarks/train_throughput.py --quick            # smoke run, tiny sizes
    python benchmarks/train_throughput.py --models ours-1m diffusers-1m --device cuda

See benchmarks/README.md for installing the peers and for what each column means.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import peers  # benchmarks/peers.py: Python puts the script's own folder first on sys.path
import torch
import torch.nn.functional as F

from audiodiff_minimal.models.unet1d import count_params

SR = 8000
RESULT_TAG = "RESULT "


def sync(device: torch.device) -> None:
    """Wait for queued kernels, so that wall-clock time covers the work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int, warmup: int = 2) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_flops(n: int) -> int:
    """FLOPs of an (n, n) @ (n, n) product: n^2 dot products of n multiply-adds."""
    return 2 * n**3


def conv1d_flops(batch: int, channels: int, length: int, kernel: int = 3) -> int:
    """FLOPs of a same-length conv1d, channels -> channels: one multiply-add per weight per output sample."""
    return 2 * batch * channels * channels * kernel * length


def matmul_rate(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of an n x n float32 matmul, the machine's reference rate."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g).to(device), torch.randn(n, n, generator=g).to(device)
    return matmul_flops(n) / timed(lambda: a @ b, device, repeats) / 1e9


def conv1d_rate(device: torch.device, channels: int = 64, length: int = 4096, batch: int = 16) -> float:
    """GFLOP/s of one conv1d (kernel 3, same length): a convolutional net's more realistic ceiling."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, length, generator=g).to(device)
    w = torch.randn(channels, channels, 3, generator=g).to(device)
    return conv1d_flops(batch, channels, length) / timed(lambda: F.conv1d(x, w, padding=1), device, 10) / 1e9


def check_flop_formulas() -> None:
    """The FLOP formulas of the reference rates must agree with ``FlopCounterMode``, which counts the models."""
    from torch.utils.flop_counter import FlopCounterMode

    n, (batch, channels, length) = 64, (2, 8, 32)
    with FlopCounterMode(display=False) as counter:
        torch.zeros(n, n) @ torch.zeros(n, n)
    if counter.get_total_flops() != matmul_flops(n):
        raise AssertionError(f"matmul_flops({n}) = {matmul_flops(n)}, FlopCounterMode: {counter.get_total_flops()}")
    with FlopCounterMode(display=False) as counter:
        F.conv1d(torch.zeros(batch, channels, length), torch.zeros(channels, channels, 3), padding=1)
    expected = conv1d_flops(batch, channels, length)
    if counter.get_total_flops() != expected:
        raise AssertionError(f"conv1d_flops = {expected}, FlopCounterMode: {counter.get_total_flops()}")


def rss_peak_mb() -> float:
    """This process's resident-set high-water mark in MB (``ru_maxrss`` is KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# --- the worker: one model, in its own process --------------------------------------------------


def measure(name: str, args: argparse.Namespace) -> dict:
    """Build model ``name``, count the FLOPs of one training step, then time ``args.repeats`` steps."""
    from torch.utils.flop_counter import FlopCounterMode

    from audiodiff_minimal.data import toy_notes
    from audiodiff_minimal.forward import q_sample
    from audiodiff_minimal.schedules import make_schedule

    device = torch.device(args.device)
    torch.manual_seed(0)
    row = {"name": name, "load_1min": os.getloadavg()[0]}
    base_mb = rss_peak_mb()  # python + torch + the model's package, before the model exists
    try:
        model = peers.build(name, args.length).to(device)
    except peers.PeerUnavailable as error:
        return row | {"skipped": str(error)}
    row |= {"model": peers.describe(name, model), "params": count_params(model)}

    x0 = toy_notes(args.batch, args.length, sr=SR, seed=0)[0].to(device)  # (B, 1, L), the same clips for all
    schedule = make_schedule("cosine", peers.T_STEPS)
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train_step() -> float:
        t = torch.randint(1, peers.T_STEPS + 1, (args.batch,), generator=g).to(device)  # (B,)
        eps = torch.randn(x0.shape, generator=g).to(device)
        eps_hat = model(q_sample(x0, t, eps, schedule), t)
        if eps_hat.shape != eps.shape:
            raise RuntimeError(f"{name}: output shape {tuple(eps_hat.shape)}, expected {tuple(eps.shape)}")
        loss = F.mse_loss(eps_hat, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    with FlopCounterMode(display=False) as counter:  # counts matmuls, convs and attention, forward + backward
        loss = train_step()
    if not torch.isfinite(torch.tensor(loss)):
        raise RuntimeError(f"{name}: training loss is {loss}")
    for _ in range(args.warmup):
        train_step()
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    wall, cpu = [], []
    for _ in range(args.repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        train_step()
        sync(device)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if sum(wall) > args.max_seconds and len(wall) >= 3:
            break  # keep the full table under 10 minutes for very slow models

    if device.type == "cuda":
        peak_mb, base_mb = torch.cuda.max_memory_allocated(device) / 2**20, 0.0
    else:
        peak_mb = rss_peak_mb()
    return row | {
        "step_s": wall,
        "cpu_use": sum(cpu) / sum(wall) / torch.get_num_threads(),
        "flops_per_step": counter.get_total_flops(),
        "peak_mb": peak_mb,
        "base_mb": base_mb,
        "final_loss": loss,
    }


def worker(name: str, args: argparse.Namespace) -> None:
    """Entry point of the subprocess: print one ``RESULT {json}`` line."""
    if args.threads:
        torch.set_num_threads(args.threads)
    print(RESULT_TAG + json.dumps(measure(name, args)), flush=True)


# --- the parent: spawn one worker per model and print the table -----------------------------------


def run_one(name: str, args: argparse.Namespace) -> dict:
    """Run the worker for ``name`` in a fresh Python process; failures become rows, never crashes."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--device", args.device]
    cmd += ["--length", str(args.length), "--batch", str(args.batch), "--repeats", str(args.repeats)]
    cmd += ["--warmup", str(args.warmup), "--max-seconds", str(args.max_seconds), "--threads", str(args.threads or 0)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"name": name, "failed": f"no result within --timeout {args.timeout} s"}
    results = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not results:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return {"name": name, "failed": lines[-1] if lines else f"exit status {proc.returncode}"}
    return json.loads(results[-1][len(RESULT_TAG) :])


def format_row(row: dict, matmul_gflops: float, batch: int, device: torch.device) -> str:
    """One table line; see benchmarks/README.md for the columns."""
    if "skipped" in row or "failed" in row:
        status = "skipped" if "skipped" in row else "failed"
        return f"| {row['name']} | {status}: {row[status]} |" + " |" * 7
    steps = row["step_s"]
    rates = [batch / s for s in steps]
    gflops = row["flops_per_step"] / statistics.median(steps) / 1e9
    mem = f"{row['peak_mb']:.0f}" + (f" (+{row['peak_mb'] - row['base_mb']:.0f})" if device.type == "cpu" else "")
    return (
        f"| {row['name']}: {row['model']} | {row['params'] / 1e6:.2f}M "
        f"| {statistics.median(rates):.1f} ({min(rates):.1f}-{max(rates):.1f}) "
        f"| {1000 * statistics.median(steps):.0f} | {row['flops_per_step'] / batch / 1e9:.2f} "
        f"| {gflops:.1f} | {100 * gflops / matmul_gflops:.1f}% | {mem} | {100 * row['cpu_use']:.0f}% |"
    )


def format_table(rows: list[dict], info: dict, args: argparse.Namespace) -> str:
    """The markdown table plus a footer with the machine, the reference rates and the load."""
    device = torch.device(args.device)
    mem = "peak RSS MB (+ over imports)" if device.type == "cpu" else "max allocated MB"
    header = [
        "| model | params | train samples/s (min-max) | step ms | GFLOP/sample | GFLOP/s | of matmul "
        f"| {mem} | cpu use |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    body = [format_row(r, info["matmul_gflops"], args.batch, device) for r in rows]
    loads = ", ".join(f"{r['name']} {r['load_1min']:.2f}" for r in rows if "load_1min" in r)
    footer = [
        "",
        f"clips: {args.batch} x {args.length} samples at {SR} Hz (toy notes, seed 0); eps-prediction MSE, "
        f"AdamW; {args.warmup} warm-up steps, then median of up to {args.repeats} timed steps.",
        f"device: {info['device']}; torch {torch.__version__}; {info['threads']} threads; {info['machine']}",
        f"reference: 2048x2048 float32 matmul {info['matmul_gflops']:.0f} GFLOP/s; "
        f"conv1d 64->64 ch, k=3, L={args.length}: {info['conv_gflops']:.0f} GFLOP/s",
        f"load average (1 min): start {info['load_start']:.2f}, end {info['load_end']:.2f}; "
        f"at each model's start: {loads or '-'}",
        f"total time {info['seconds']:.0f} s",
    ]
    return "\n".join(header + body + footer)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(peers.MODELS), choices=list(peers.MODELS), metavar="NAME",
                   help=f"models to run (default: all of {', '.join(peers.MODELS)})")  # fmt: skip
    p.add_argument("--length", type=int, default=None, help="samples per clip (default 4096; quick 512)")
    p.add_argument("--batch", type=int, default=None, help="clips per step (default 16; quick 2)")
    p.add_argument("--repeats", type=int, default=None, help="timed steps per model (default 10; quick 2)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps before timing (default 2; quick 1)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: the best available)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    p.add_argument("--max-seconds", type=float, default=None, help="stop timing a model after this long (default 45)")
    p.add_argument("--timeout", type=float, default=300.0, help="give up on a model after this many seconds")
    p.add_argument("--json", type=Path, default=None, help="also write the raw measurements to this file")
    p.add_argument("--quick", action="store_true", help="tiny sizes and repeats: a smoke run")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    quick = {"length": 512, "batch": 2, "repeats": 2, "warmup": 1, "max_seconds": 5.0}
    full = {"length": 4096, "batch": 16, "repeats": 10, "warmup": 2, "max_seconds": 45.0}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.device is None:
        from audiodiff_minimal.utils import get_device

        args.device = str(get_device())
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args.worker, args)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    check_flop_formulas()
    start = time.perf_counter()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    info = {
        "device": f"{device} ({name})",
        "threads": torch.get_num_threads(),
        "machine": f"{os.cpu_count()} logical CPUs, {platform.system()} {platform.machine()}",
        "load_start": os.getloadavg()[0],
        "matmul_gflops": matmul_rate(device),
        "conv_gflops": conv1d_rate(device, length=args.length),
    }
    rows = []
    for model_name in args.models:
        print(f"[{time.perf_counter() - start:5.0f} s] {model_name} ...", file=sys.stderr, flush=True)
        rows.append(run_one(model_name, args))
    info |= {"load_end": os.getloadavg()[0], "seconds": time.perf_counter() - start}
    print(format_table(rows, info, args))
    if args.json:
        raw = {"args": {k: str(v) for k, v in vars(args).items()}, "info": info, "rows": rows}
        args.json.write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
