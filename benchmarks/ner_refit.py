"""Does `zoo train --refit` help on sentences neither model saw? CoNLL-2003, scored on `eng.testa`.

    .venv/bin/python -m benchmarks.ner_refit --seeds 0 1 --name scratch -- \\
        --tag-scheme iobes --batch-size 32 --learning-rate 0.002 --lr-decay 0.05 --epochs 15 --patience 3 \\
        --singleton-unk 0.5 --word-dropout 0.1 --ema 0.99

A refit model trains on dev, so its own dev figure means nothing. This benchmark moves the whole
procedure one split down: `zoo train bilstm_crf_ner --data eng.train --refit` with no `--dev`, so
the first model holds out the last 10% of `eng.train` as its dev (early stopping) and the refit
trains on all of `eng.train` for the epochs that 10% chose; then `zoo evaluate` scores both exports
on `eng.testa`, which neither saw. The options after `--` go to `zoo train` as they are (the
README's NER options). Each run goes through the command line in this process, as a user runs it.

Writes `results/ner_refit[_<name>].json` and `.md`: per seed, the first model's dev F1 (the 10%)
and best epoch, both models' `eng.testa` F1, and the minutes of each training.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CONLL = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "conll2003"
RESULTS = Path(__file__).resolve().parent / "results"


def run_seed(seed: int, train_options: list[str], workroot: Path) -> dict:
    """Trains the first model and the refit for one seed; scores both exports on eng.testa."""
    from zoo.cli import main
    from zoo.export import read_card

    work, exports = workroot / f"seed{seed}", workroot / f"seed{seed}" / "exports"
    status = main(["train", "bilstm_crf_ner", "--data", f"conll2003:{CONLL / 'eng.train.gz'}", "--seed", str(seed),
                   "--workdir", str(work / "run"), "--export-dir", str(exports), "--refit", *train_options])
    if status:
        raise SystemExit(f"zoo train exited with {status}")
    result = {"seed": seed}
    for key, version in (("first", 1), ("refit", 2)):
        export = exports / "bilstm_crf_ner" / str(version)
        out = work / f"testa_{key}"
        if main(["evaluate", str(export), "--data", f"conll2003:{CONLL / 'eng.testa.gz'}", "--out", str(out)]):
            raise SystemExit(f"zoo evaluate {export} failed")
        report = json.loads((out / "report.json").read_text())
        card = read_card(export)
        result[key] = {"testa_f1": round(report["f1"], 4), "testa_token_accuracy": round(report["token_accuracy"], 4),
                       "epochs_run": card["training"]["epochs_run"],
                       "train_minutes": round(card["training"]["seconds"] / 60, 1),
                       "train_sentences": card["data"]["train_sentences"]}
        if key == "first":
            result[key]["dev_f1"] = card["metrics"]["dev_f1"]
        else:
            result[key]["epochs_chosen"] = card["refit"]["epochs"]
    return result


def markdown(report: dict) -> str:
    lines = [f"# `zoo train --refit` on CoNLL-2003, scored on `eng.testa` ({report['date']})", "",
             f"`{report['command']}`", "",
             "First model: `eng.train` less its last 10% (dev, early stopping); refit: all of `eng.train` for the "
             "epochs that dev chose. `eng.testa` is held out from both. F1: seqeval strict IOB2.", "",
             "| seed | first: dev F1 (10% of train) | best epoch / epochs run | first: testa F1 | refit: testa F1 "
             "| refit - first | minutes (first + refit) |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in report["runs"]:
        first, refit = run["first"], run["refit"]
        lines.append(f"| {run['seed']} | {first['dev_f1']:.4f} | {refit['epochs_chosen']} / {first['epochs_run']} | "
                     f"{first['testa_f1']:.4f} | {refit['testa_f1']:.4f} | {refit['testa_f1'] - first['testa_f1']:+.4f} | "
                     f"{first['train_minutes']} + {refit['train_minutes']} |")
    summary = report["summary"]
    lines.append(f"| mean | | | {summary['first']:.4f} | {summary['refit']:.4f} | {summary['gain']:+.4f} | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, train_options = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--name", help="results/ner_refit_NAME.json instead of ner_refit.json")
    parser.add_argument("--workdir", type=Path, help="runs and exports (default: a temporary folder)")
    args = parser.parse_args(ours)
    if {"--data", "--dev", "--refit", "--seed", "--workdir", "--export-dir"} & set(train_options):
        parser.error("the options after -- may not set --data, --dev, --refit, --seed, --workdir or --export-dir")

    with tempfile.TemporaryDirectory() as tmp:
        workroot = args.workdir or Path(tmp)
        runs = [run_seed(seed, train_options, workroot) for seed in args.seeds]
    first = [run["first"]["testa_f1"] for run in runs]
    refit = [run["refit"]["testa_f1"] for run in runs]
    report = {"date": datetime.date.today().isoformat(),
              "command": "python -m benchmarks.ner_refit " + " ".join(argv),
              "split": "first model: eng.train less its last 10% (dev); refit: all of eng.train; scored on eng.testa",
              "runs": runs,
              "summary": {"first": round(statistics.mean(first), 4), "refit": round(statistics.mean(refit), 4),
                          "gain": round(statistics.mean(r - f for r, f in zip(refit, first)), 4)},
              "cpus": os.cpu_count(), "load_average_end": os.getloadavg()}
    stem = RESULTS / ("ner_refit" + (f"_{args.name}" if args.name else ""))
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
