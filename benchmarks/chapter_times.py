"""How long a reader's "Run All" takes: each chapter executed in a fresh kernel, timed cell by cell (issue 15).

Runs every code cell of each notebook in order, in a new Jupyter kernel started from this Python, in the
notebook's folder, as "Run All" does; full mode by default (``AUDIODIFF_QUICK=0``, what readers run), quick
mode with ``--quick`` (what the test suite runs). A notebook that runs past ``--timeout`` seconds is stopped
(its kernel interrupted) and counted as failed, with the cells it finished. Prints one markdown table:

    | notebook | mode | seconds | CPU seconds | cells | result | slowest cell | load avg start-end |

    python benchmarks/chapter_times.py                                   # every chapter, full mode
    python benchmarks/chapter_times.py notebooks/04_unet_on_gpu.ipynb --timeout 900
    python benchmarks/chapter_times.py --quick --solutions               # chapters and solutions, quick mode
    python benchmarks/chapter_times.py --json runs/chapter_times.json    # also every cell's time

The kernel is driven with ``jupyter_client`` (what nbval uses), so no extra package is needed; its environment is
``audiodiff_minimal.utils.notebook_environment`` (as for nbval and the site build). "seconds" is wall clock, on
whatever else the machine is doing: the table gives the load average (``os.getloadavg``, 1 minute) at the start
and the end of each notebook, to compare with the number of cores before quoting a time. "CPU seconds" is the
kernel's own user + system time for the cells (``os.times`` in the kernel, its finished child processes included,
e.g. torchrun's): the work done, which other programs on the machine barely change. On a quiet machine with
n cores, wall time is at least CPU seconds / n; run with ``OMP_NUM_THREADS=1`` to measure the work without
threads spinning (``OMP_NUM_THREADS=1 python benchmarks/chapter_times.py notebooks/06_*.ipynb``).
Tags are honoured as by nbclient: ``skip-execution`` is not run, ``raises-exception`` may raise.
"""

import argparse
import json
import os
import platform
import queue
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

from audiodiff_minimal.utils import notebook_environment

ROOT = Path(__file__).resolve().parents[1]


def kernel_cpu_seconds(kc) -> float | None:
    """CPU seconds (user + system) the kernel and its finished child processes have used so far; None if unknown."""
    expr = "sum(__import__('os').times()[:4])"  # user, system, children's user, children's system
    try:
        reply = kc.execute_interactive("", silent=True, user_expressions={"cpu": expr}, timeout=30)
        return float(reply["content"]["user_expressions"]["cpu"]["data"]["text/plain"])
    except Exception:  # noqa: BLE001 (a kernel that died or hangs: the time is unknown, not the run a failure)
        return None


def run_cell(kc, source: str, timeout: float) -> tuple[str | None, bool]:
    """Execute one cell and wait for it; returns (error text or None, timed_out)."""
    msg_id = kc.execute(source, store_history=True, allow_stdin=False)
    deadline, error = time.monotonic() + timeout, None
    while True:  # drain output until the kernel reports idle for this request
        try:
            msg = kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            return "timeout", True
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            error = f"{msg['content']['ename']}: {msg['content']['evalue']}"[:200]
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return error, False


def first_line(source: str) -> str:
    line = next((s for s in source.splitlines() if s.strip() and not s.startswith("%")), "")
    return line.strip()[:60].replace("|", "/")


def time_notebook(path: Path, quick: bool, timeout: float, cell_timeout: float) -> dict:
    """Run one notebook in a fresh kernel; returns its row (with every cell's seconds)."""
    nb = nbformat.read(path, as_version=4)
    cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    load_start, start = os.getloadavg()[0], time.monotonic()
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(path.parent), env=notebook_environment(quick),
                              extra_arguments=[], startup_timeout=120)  # fmt: skip
    times, error, timed_out = [], None, False
    cpu_start, cpu_end = kernel_cpu_seconds(kc), None
    try:
        for index, cell in cells:
            tags = set(cell.metadata.get("tags", []))
            if "skip-execution" in tags:
                continue
            left = timeout - (time.monotonic() - start)
            cell_start = time.monotonic()
            err, timed_out = run_cell(kc, cell.source, min(cell_timeout, max(left, 0.01)))
            times.append({"cell": index, "id": cell.get("id"), "seconds": time.monotonic() - cell_start,
                          "first_line": first_line(cell.source)})  # fmt: skip
            print(f"  {path.name} cell {index}: {times[-1]['seconds']:.1f} s", file=sys.stderr, flush=True)
            if timed_out:
                km.interrupt_kernel()
                error = f"cell {index} still running after {'the notebook' if left < cell_timeout else 'cell'} timeout"
                break
            if err and "raises-exception" not in tags:
                error = f"cell {index}: {err}"
                break
        cpu_end = kernel_cpu_seconds(kc) if cpu_start is not None else None
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    slowest = max(times, key=lambda r: r["seconds"]) if times else None
    return {
        "notebook": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "mode": "quick" if quick else "full",
        "seconds": round(time.monotonic() - start, 1),
        "cpu_seconds": round(cpu_end - cpu_start, 1) if cpu_start is not None and cpu_end is not None else None,
        "cells_run": len(times) - (1 if error else 0),
        "cells": len(cells),
        "result": "fail" if error else "pass",
        "error": error,
        "slowest": slowest,
        "load_start": round(load_start, 2),
        "load_end": round(os.getloadavg()[0], 2),
        "times": times,
    }


def markdown(rows: list[dict]) -> str:
    head = "| notebook | mode | seconds | CPU seconds | cells | result | slowest cell | load avg start-end |"
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        s = r["slowest"]
        slow = f"[{s['cell']}] {s['seconds']:.0f} s `{s['first_line']}`" if s else ""
        result = r["result"] if r["result"] == "pass" else f"fail: {r['error']}"
        cpu = "?" if r["cpu_seconds"] is None else f"{r['cpu_seconds']:.0f}"
        lines.append(f"| {Path(r['notebook']).name} | {r['mode']} | {r['seconds']:.0f} | {cpu} "
                     f"| {r['cells_run']}/{r['cells']} | {result} | {slow} "
                     f"| {r['load_start']:.1f}-{r['load_end']:.1f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: every chapter in notebooks/)")
    parser.add_argument("--quick", action="store_true", help="quick mode (AUDIODIFF_QUICK=1), as the tests run")
    parser.add_argument("--solutions", action="store_true", help="also run notebooks/solutions/ (default list only)")
    parser.add_argument("--timeout", type=float, default=1500, help="seconds per notebook before it is stopped")
    parser.add_argument("--cell-timeout", type=float, default=1200, help="seconds per cell before it is stopped")
    parser.add_argument("--json", default=None, help="also write every row and every cell's seconds here")
    args = parser.parse_args(argv)

    paths = [Path(p).resolve() for p in args.notebooks] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if args.solutions and not args.notebooks:
        paths += sorted((ROOT / "notebooks" / "solutions").glob("[0-9]*.ipynb"))
    load_start, rows = os.getloadavg(), []
    for path in paths:
        rows.append(time_notebook(path, args.quick, args.timeout, args.cell_timeout))
        r = rows[-1]
        print(f"{r['notebook']}: {r['mode']} {r['seconds']:.0f} s, {r['result']}", file=sys.stderr, flush=True)
    print(markdown(rows))
    print(f"\n{platform.node() or 'this machine'}: {os.cpu_count()} cores; load average (1, 5, 15 min) "
          f"{tuple(round(v, 2) for v in load_start)} at the start, {tuple(round(v, 2) for v in os.getloadavg())} "
          f"at the end; {time.strftime('%Y-%m-%d %H:%M')}")  # fmt: skip
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r["result"] == "pass" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
