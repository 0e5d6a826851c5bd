"""`multiworker` on loopback: per-step time of 2 workers against one process at the same global batch, and equal losses.

Run from the repository root (about two minutes on 2 shared cores):

    .venv/bin/python -m benchmarks.multiworker

Both sides run `tests/zoo/distribute_worker.py` (a tiny dense classifier, `zoo.distribute.fit_multiworker`):
one process with no strategy, and two `MultiWorkerMirroredStrategy` workers on 127.0.0.1 that each take
half of every global batch. They run at the same time, so they share the cores the same way.

A step's time is the interval between the starts of consecutive steps of the last epoch (the first
epochs trace the graphs); the median is reported. On 2 cores with loopback this measures the cost of
the collectives and their synchronisation, not a speed-up: the model is too small to gain from two
workers. The losses of the two sides must agree to 1e-5 (relative); the benchmark says whether they do.

Writes `multiworker.json` and `multiworker.md` to `--out` and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.reporting import machine_info, write_results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1024, help="training examples (default 1024)")
    parser.add_argument("--global-batch", type=int, default=16, help="global batch size (default 16)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs; the last one is timed (default 3)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before every process is killed")
    parser.add_argument("--out", default="benchmarks/results", help="folder for multiworker.json and .md")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    import numpy as np

    from tests.zoo.distribute_worker import read_run, run_processes, worker_runs

    args = parse_args(argv)
    machine = machine_info()
    common = ["--examples", str(args.examples), "--global-batch", str(args.global_batch), "--epochs", str(args.epochs)]
    steps = args.examples // args.global_batch
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs = {**worker_runs(2, "--strategy", "multiworker", "--workdir", str(tmp / "cluster"), *common),
                "one": (["--workdir", str(tmp / "one"), *common], None)}
        codes = run_processes(runs, out_dir=tmp, timeout=args.timeout)
        if codes != {name: 0 for name in runs}:
            raise SystemExit(f"a process failed: {codes}; logs in {tmp} are gone, rerun with fewer --examples")
        one, w0, w1 = (read_run(tmp, name) for name in ("one", "w0", "w1"))
    timed = {name: _median_step(run["step_times"], steps) for name, run in (("one", one), ("w0", w0), ("w1", w1))}
    loss_gap = float(np.max(np.abs(np.array(one["history"]["loss"]) - np.array(w0["history"]["loss"]))
                            / np.abs(np.array(one["history"]["loss"]))))
    weight_gap = max(float(np.max(np.abs(a - b))) for a, b in zip(one["weights"], w0["weights"]))
    workers_gap = max(float(np.max(np.abs(a - b))) for a, b in zip(w0["weights"], w1["weights"]))
    result = {
        "command": shlex.join([sys.executable, "-m", "benchmarks.multiworker", *(argv or sys.argv[1:])]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine, "examples": args.examples, "global_batch": args.global_batch, "epochs": args.epochs,
        "steps_per_epoch": steps,
        "median_step_ms": {name: round(seconds * 1000, 2) for name, seconds in timed.items()},
        "overhead_ratio": round(max(timed["w0"], timed["w1"]) / timed["one"], 2),
        "loss": {"one": one["history"]["loss"], "two_workers": w0["history"]["loss"]},
        "max_relative_loss_gap": loss_gap, "max_weight_gap_one_vs_workers": weight_gap,
        "max_weight_gap_between_workers": workers_gap, "losses_agree": loss_gap <= 1e-5,
    }
    write_results(args.out, "multiworker", result, markdown(result))
    return result


def _median_step(started: list[float], steps_per_epoch: int) -> float:
    last = started[-steps_per_epoch:]
    return statistics.median(b - a for a, b in zip(last, last[1:]))


def markdown(result: dict) -> str:
    ms = result["median_step_ms"]
    return "\n".join([
        f"# multiworker on loopback ({result['date']})",
        "",
        f"Tiny dense classifier, {result['examples']} examples, global batch {result['global_batch']}, "
        f"{result['steps_per_epoch']} steps per epoch, {result['epochs']} epochs; median step of the last epoch.",
        f"Machine: {result['machine']['note']} (load average {result['machine']['load_average']}).",
        "",
        "| run | median step (ms) |",
        "| --- | --- |",
        f"| one process, no strategy | {ms['one']} |",
        f"| 2 workers, MultiWorkerMirroredStrategy, worker 0 | {ms['w0']} |",
        f"| 2 workers, MultiWorkerMirroredStrategy, worker 1 | {ms['w1']} |",
        "",
        f"Per-step overhead of 2 loopback workers: {result['overhead_ratio']}x one process (correctness run on "
        "shared cores, not a speed figure).",
        f"Losses agree: {result['losses_agree']} (largest relative gap {result['max_relative_loss_gap']:.2e}); "
        f"largest weight gap one process vs workers {result['max_weight_gap_one_vs_workers']:.2e}, "
        f"between the workers {result['max_weight_gap_between_workers']:.2e}.",
        "",
    ])


if __name__ == "__main__":
    main()
