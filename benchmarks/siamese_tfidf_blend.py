"""Does a TF-IDF cosine add to a trained Siamese export? Blend weights chosen on dev, scored on the holdout.

For an export made by a holdout run of `siamese_quora.py` (same `--seed` and fractions), the score
of a pair becomes (1 - w) * the export's cosine + w * a TF-IDF cosine (scikit-learn, fitted on the
training questions, word or character 2-4-grams). w is chosen on the dev split (the highest ROC AUC,
the smallest w on ties) over 0, 0.05, ..., 0.5, and every w is scored on the holdout, which no
choice saw, with τ calibrated on dev. Run from the repository root:

    .venv/bin/python benchmarks/siamese_quora.py --holdout-fraction 0.2 --dev-fraction 0.125 --seed 0 \\
        --export-dir /tmp/quora_s0 --name blend_s0
    .venv/bin/python benchmarks/siamese_tfidf_blend.py --export /tmp/quora_s0/siamese_bow/1 --seed 0

Writes `benchmarks/results/siamese_tfidf_blend_s<seed>.json` and `.md`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.siamese_quora import DATASETS, TFIDF_BASELINES, quora_splits, tfidf_scores  # noqa: E402

WEIGHTS = [round(0.05 * i, 2) for i in range(11)]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--export", required=True, help="a Siamese export from a holdout run of siamese_quora.py")
    parser.add_argument("--data", default=str(DATASETS / "quora_bimpm" / "dev.tsv.gz"), help="the Quora pairs to split")
    parser.add_argument("--holdout-fraction", type=float, default=0.2, help="as the export's run")
    parser.add_argument("--dev-fraction", type=float, default=0.125, help="as the export's run")
    parser.add_argument("--seed", type=int, default=0, help="as the export's run (it draws the splits)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    if not args.holdout_fraction > 0:
        parser.error(f"--holdout-fraction {args.holdout_fraction}: expected a share above 0, as the export's run")
    if not (Path(args.export) / "saved_model.pb").is_file():
        parser.error(f"--export {args.export}: expected a SavedModel directory (saved_model.pb), e.g. saved_models/siamese_bow/1")
    return args


def blend_rows(learned: dict, other: dict, labels: dict) -> list[dict]:
    """For each weight: ROC AUC and accuracy (at its dev τ) of the blended scores on dev and on the holdout."""
    from zoo.metrics.threshold import similarity_report

    rows = []
    for w in WEIGHTS:
        on_dev = similarity_report((1 - w) * learned["dev"] + w * other["dev"], labels["dev"])
        tau = on_dev["calibrated"]["tau"]
        on_holdout = similarity_report((1 - w) * learned["holdout"] + w * other["holdout"], labels["holdout"], tau=tau)
        rows.append({"w": w, "dev_roc_auc": on_dev["roc_auc"], "dev_accuracy": on_dev["calibrated"]["accuracy"],
                     "tau": tau, "holdout_roc_auc": on_holdout["roc_auc"],
                     "holdout_accuracy": on_holdout["at_tau"]["accuracy"]})
    return rows


def main(argv=None) -> dict:
    args = parse_args(argv)
    from benchmarks.reporting import machine_info, write_results
    from zoo.tasks.siamese import PairIndex, SiameseExport, embed_texts

    quora_train, dev, holdout = quora_splits(args.data, holdout_fraction=args.holdout_fraction,
                                             dev_fraction=args.dev_fraction, seed=args.seed)
    train_texts = [t for p in quora_train for t in (p.text_a, p.text_b)]
    indexes = {"dev": PairIndex.of(dev), "holdout": PairIndex.of(holdout)}
    export = SiameseExport(args.export)
    learned = {k: i.similarities(embed_texts(export.embed, i.texts)) for k, i in indexes.items()}
    labels = {k: i.labels for k, i in indexes.items()}
    blends = {}
    for name, options in TFIDF_BASELINES.items():
        name = name.removeprefix("tfidf_")
        rows = blend_rows(learned, {k: tfidf_scores(train_texts, i, **options) for k, i in indexes.items()}, labels)
        chosen = max(rows, key=lambda r: (r["dev_roc_auc"], -r["w"]))
        blends[name] = {"rows": rows, "chosen_on_dev": chosen}
    result = {"benchmark": "siamese_tfidf_blend", "export": args.export, "seed": args.seed,
              "pairs": {k: len(i.labels) for k, i in indexes.items()}, "blends": blends, "machine": machine_info()}
    write_results(args.out, f"siamese_tfidf_blend_s{args.seed}", result, markdown(result))
    return result


def markdown(r: dict) -> str:
    lines = [f"# Siamese export + TF-IDF cosine, split seed {r['seed']}", "",
             f"Export `{r['export']}`; {r['pairs']['dev']} dev pairs choose w, {r['pairs']['holdout']} holdout "
             "pairs score it (accuracy at the dev τ).", "",
             "| TF-IDF | w | dev ROC AUC | dev accuracy | holdout ROC AUC | holdout accuracy |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, blend in r["blends"].items():
        for row in blend["rows"]:
            mark = " (chosen on dev)" if row == blend["chosen_on_dev"] else ""
            lines.append(f"| {name} | {row['w']:.2f}{mark} | {row['dev_roc_auc']:.4f} | {row['dev_accuracy']:.4f} "
                         f"| {row['holdout_roc_auc']:.4f} | {row['holdout_accuracy']:.4f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
