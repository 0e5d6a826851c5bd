"""Flickr8k (the 800-image subset) captioning with `cnn_rnn_captioner`: BLEU-1..4 on held-out images, and a blind baseline.

The images are split once (seed 0) by image: 10% of them, each with all its five captions, are the
validation images, on which the epoch of lowest perplexity is chosen and BLEU is measured; no
validation image is seen in training. For each `--seeds` seed, two models train within `--minutes`
each through `zoo.tasks.loops.train`:

- the captioner, scored through its export on the validation images' bytes;
- the blind baseline: the same model trained with every image zeroed, so it learns the caption
  language model alone, scored on a black image (zero pixels) for every validation image; the gap
  to it is what the image features add.

With `--encoder concepts` (the default), each seed first trains the captioner's conv encoder alone,
within `--concept-minutes`, to predict which words the captions of each training image use
(`zoo.tasks.seq2seq.concepts`; no other data), and both models start from it, frozen (unless
`--fine-tune-encoder`): the blind model sees only zeroed images through it, so the two differ in
nothing but the image. `--encoder scratch` trains the encoder with the decoder, as before.

BLEU-n is corpus BLEU against all five references of each image, lower-cased (`zoo.metrics.bleu.caption_bleu`),
for beam search (`serving_default`) and greedy decoding.

Run from the repository root (about `--concept-minutes` + 2 x `--minutes` per seed on 2 CPU cores):

    .venv/bin/python benchmarks/captioning_flickr8k.py --seeds 0 1 2 --minutes 8 --image-size 64 \
        --concept-minutes 6 --dropout 0.5
    .venv/bin/python benchmarks/captioning_flickr8k.py --minutes 0.5 --max-images 100 --preset tiny \\
        --image-size 32 --epochs 1 --out /tmp/captioning     # a smoke run

Writes `results/captioning_flickr8k.json` and `.md` (or `--out`).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.char_lm_shakespeare import TimeBudget  # noqa: E402
from benchmarks.reporting import machine_info, write_results  # noqa: E402

NAME = "captioning_flickr8k"
SYSTEMS = ("captioner", "blind")
STAMP = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")  # the workdirs of one run


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", default=str(ROOT.parent / "shared" / "datasets" / "flickr8k_1k" / "captions.txt"))
    parser.add_argument("--max-images", type=int, help="use the first N images only (smoke runs)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="model seeds (the split is fixed, seed 0)")
    parser.add_argument("--minutes", type=float, default=20.0, help="wall-clock training budget per model (default 20)")
    parser.add_argument("--epochs", type=int, default=100, help="most epochs within the budget")
    parser.add_argument("--preset", default="flickr8k")
    parser.add_argument("--dropout", type=float, help="the captioner's dropout (default: the preset's)")
    parser.add_argument("--image-size", type=int, help="resize to N x N (default: the preset's input_shape)")
    parser.add_argument("--level", choices=["subword", "word"], default="word")
    parser.add_argument("--vocab-size", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--beam-width", type=int, default=3)
    parser.add_argument("--alpha", type=float, default=0.6)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--encoder", choices=["concepts", "scratch"], default="concepts",
                        help="the captioner's encoder: first trained to name the caption words of its training images "
                             "(zoo.tasks.seq2seq.concepts), or trained from scratch with the decoder (default concepts)")
    parser.add_argument("--concept-minutes", type=float, default=5.0,
                        help="wall-clock budget of the concept encoder's training (default 5)")
    parser.add_argument("--fine-tune-encoder", action="store_true",
                        help="train the concept encoder further with the decoder (default: frozen)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads (the budget is 2 cores)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--export-dir", default="saved_models")
    return parser.parse_args(argv)


def blind(data):
    """The same data with every image zeroed (a captioner that cannot see)."""
    import tensorflow as tf

    def zero(inputs, target):
        return {**inputs, "images": tf.zeros_like(inputs["images"])}, target

    return dataclasses.replace(data, train_ds=data.train_ds.map(zero), dev_ds=data.dev_ds.map(zero))


def black_png(size) -> bytes:
    import numpy as np
    import tensorflow as tf

    return tf.io.encode_png(np.zeros((*size, 3), np.uint8)).numpy()


def run_seed(task, data, args, seed: int) -> dict:
    from zoo.metrics.bleu import caption_bleu
    from zoo.serving import load
    from zoo.tasks.loops import train
    from zoo.tasks.seq2seq.serving import decode_all

    config = {"input_shape": [*data.image_size, 3], **({"dropout": args.dropout} if args.dropout is not None else {})}
    card = {"beam_width": args.beam_width, "alpha": args.alpha}
    result = {}
    if args.encoder == "concepts":
        result["concept_encoder"] = concept_encoder(args, data, config, seed)
    for system in SYSTEMS:
        budget = TimeBudget(args.minutes * 60)
        started = time.perf_counter()
        system_config = config
        if args.encoder == "concepts":
            # The blind model too: the same architecture, trainable weights and steps per second; its
            # zeroed images make the encoder's output one constant grid, so it learns captions alone.
            system_config = {**config, "encoder_weights": result["concept_encoder"]["path"],
                             "freeze_encoder": not args.fine_tune_encoder}
        export, report = train(task, "cnn_rnn_captioner", data if system == "captioner" else blind(data),
                               epochs=args.epochs, workdir=Path("runs") / f"{NAME}-{system}-{seed}-{STAMP}",
                               export_dir=args.export_dir, preset=args.preset, config=system_config,
                               learning_rate=args.learning_rate, patience=args.patience, seed=seed, callbacks=[budget],
                               verbose=2, label_smoothing=args.label_smoothing, beam_width=args.beam_width,
                               alpha=args.alpha)
        seconds = time.perf_counter() - started
        loaded = load(export)
        scores = {}
        for decoding in ("beam", "greedy"):
            if system == "captioner":
                scores[decoding] = task.score_export(loaded, card, (data.dev_inputs, data.dev_references,
                                                                    decoding == "greedy"))
            else:  # one black image's caption for every validation image
                function = loaded.signatures["greedy" if decoding == "greedy" else "serving_default"]
                (caption,) = decode_all(function, [black_png(data.image_size)], input_name="image_bytes")
                scores[decoding] = {**caption_bleu([caption] * len(data.dev_references), data.dev_references),
                                    "caption": caption}
        result[system] = {"export": str(export), "train_seconds": round(seconds, 1),
                          "stopped_by_time_budget": budget.stopped_early, "val_perplexity": report["perplexity"],
                          "val": scores}
    return result


def concept_encoder(args, data, config: dict, seed: int) -> dict:
    """The captioner's encoder trained alone to name its training images' caption words (the same split)."""
    from zoo.registry import get_spec
    from zoo.tasks.seq2seq.concepts import train_concept_encoder
    from zoo.tasks.seq2seq.data import read_captioned_images, read_splits

    train_images, dev_images, _ = read_splits(read_captioned_images, f"flickr8k:{args.captions}", None, seed=0,
                                              limit=args.max_images, what="images, each with all its captions,")
    budget = TimeBudget(args.concept_minutes * 60)
    started = time.perf_counter()
    report = train_concept_encoder(train_images, dev_images, get_spec("cnn_rnn_captioner").config(args.preset, **config),
                                   path=Path("runs") / f"{NAME}-concepts-{seed}-{STAMP}" / "encoder.keras", seed=seed,
                                   callbacks=[budget])
    return {**report, "concepts": len(report["concepts"]), "first_concepts": report["concepts"][:20],
            "train_seconds": round(time.perf_counter() - started, 1), "stopped_by_time_budget": budget.stopped_early}


def summary(runs: dict) -> dict:
    """system -> decoding -> BLEU-n -> (mean, standard deviation over seeds)."""
    out = {}
    for system in SYSTEMS:
        for decoding in ("beam", "greedy"):
            for n in range(1, 5):
                values = [run[system]["val"][decoding][f"bleu_{n}"] for run in runs.values()]
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                out.setdefault(system, {}).setdefault(decoding, {})[f"bleu_{n}"] = [round(statistics.mean(values), 2),
                                                                                     round(spread, 2)]
    return out


def markdown(result: dict) -> str:
    rows = ["| system | decoding | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 |", "| --- | --- | --- | --- | --- | --- |"]
    for system, decodings in result["summary"].items():
        for decoding, bleu in decodings.items():
            rows.append(f"| {system} | {decoding} | " + " | ".join(f"{m:.2f} ± {s:.2f}" for m, s in bleu.values()) + " |")
    return "\n".join([
        f"# {NAME}: cnn_rnn_captioner on {result['data']['train_images']} training images, "
        f"{result['data']['dev_images']} validation images (5 references each)", "",
        f"Seeds {result['options']['seeds']} (mean ± standard deviation); budget {result['options']['minutes']} min "
        "per model; blind = trained and decoded with zeroed images.", "", *rows, ""])



def main(argv=None) -> dict:
    args = parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from zoo.registry import get_spec
    from zoo.tasks import get_task
    from zoo.tasks.seq2seq.data import prepare_caption_data

    size = args.image_size or get_spec("cnn_rnn_captioner").presets[args.preset]["input_shape"][0]
    data = prepare_caption_data(f"flickr8k:{args.captions}", image_size=(size, size), level=args.level, vocab_size=args.vocab_size,
                                lowercase=True, batch_size=args.batch_size, seed=0, max_images=args.max_images)
    task = get_task("captioning")
    runs = {str(seed): run_seed(task, data, args, seed) for seed in args.seeds}
    result = {"command": shlex.join([sys.executable, *sys.argv]),
              "date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine_info(),
              "data": data.info, "options": vars(args), "runs": runs, "summary": summary(runs)}
    write_results(args.out, NAME, result, markdown(result))
    return result


if __name__ == "__main__":
    main()
