"""Multi30k English -> German with a recurrent encoder-decoder: sacreBLEU, chrF and perplexity on val, and speed.

Trains `--model` (default `gru_seq2seq`, preset `multi30k`, additive attention; `--attention none` is the
no-attention baseline) on Multi30k train within a wall-clock budget of `--minutes` through
`zoo.tasks.loops.train`, which keeps the epoch of lowest validation perplexity (Multi30k val: the choice is
made on it; the test sets are held out) and exports the model. The export is then scored on val:

- sacreBLEU corpus BLEU, cased and lowercased (13a tokenization), with their signatures, and chrF,
  for beam search (`serving_default`) and greedy decoding (`greedy`);
- perplexity of val under teacher forcing;
- one-sentence median latency through the exported `greedy` signature against a tutorial-style Python
  loop that calls `model.predict` once per decoding step on the whole prefix, and sentences/s at batch 64
  through both signatures.

Run from the repository root (about 70 minutes on 2 CPU cores):

    .venv/bin/python benchmarks/translation_multi30k.py
    .venv/bin/python benchmarks/translation_multi30k.py --minutes 1 --max-pairs 2000 --preset small \\
        --vocab-size 1000 --latency-calls 5 --out /tmp/translation     # a smoke run

Writes `results/translation_multi30k.json` and `.md` (`translation_multi30k_<attention>` for `--attention`
other than additive; or `--out`) and exports to `saved_models/NAME/VERSION`.
"""

from __future__ import annotations

import argparse
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

NAME = "translation_multi30k"
SENTENCE = "A man in a blue shirt is riding a bicycle down the street ."


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets" / "multi30k"))
    parser.add_argument("--source", default="en", help="source language suffix (default en)")
    parser.add_argument("--target", default="de", help="target language suffix (default de)")
    parser.add_argument("--max-pairs", type=int, help="train on the first N pairs only (smoke runs)")
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock training budget (default 60)")
    parser.add_argument("--epochs", type=int, default=100, help="most epochs within the budget (default 100)")
    parser.add_argument("--model", default="gru_seq2seq", choices=["gru_seq2seq", "lstm_seq2seq"])
    parser.add_argument("--preset", default="multi30k")
    parser.add_argument("--attention", choices=["additive", "dot", "none"], default="additive",
                        help="'none' is the no-attention baseline")
    parser.add_argument("--level", choices=["subword", "word"], default="subword")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--joint-vocab", action="store_true")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--alpha", type=float, default=0.6)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--latency-calls", type=int, default=50, help="timed one-sentence calls per path")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads (the budget is 2 cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--export-dir", default="saved_models")
    parser.add_argument("--workdir", help="training folder (default runs/NAME-TIME); the folder of a finished run "
                                          "exports and scores its best weights without training again")
    return parser.parse_args(argv)


def python_loop_translate(model, source_encoder, target_encoder, text: str, *, max_length: int) -> str:
    """The tutorial way: the whole prefix through `model.predict` at every step, argmax in Python."""
    import numpy as np

    from pipelines.subwords import BOS_ID, EOS_ID

    source = source_encoder.tokenize([text]).to_tensor().numpy()
    target = [BOS_ID]
    for _ in range(max_length):
        log_probs = model.predict([source, np.array([target], dtype="int32")], verbose=0)
        token = int(np.argmax(log_probs[0, -1]))
        if token == EOS_ID:
            break
        target.append(token)
    return target_encoder.detokenize([target[1:]]).numpy()[0].decode("utf-8")


def median_seconds(function, calls: int) -> float:
    function()  # warm-up (tracing)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def speed(loaded, model, data, workdir, *, calls: int, max_length: int) -> dict:
    import tensorflow as tf

    from zoo.tasks.seq2seq.data import saved_encoders

    source_encoder, target_encoder = saved_encoders(data, workdir)  # fresh tokenizers (see `saved_encoders`)

    greedy, beam = loaded.signatures["greedy"], loaded.signatures["serving_default"]
    one = tf.constant([SENTENCE])
    batch = tf.constant((data.dev_inputs * 64)[:64])
    signature = median_seconds(lambda: greedy(text=one), calls)
    loop = median_seconds(lambda: python_loop_translate(model, source_encoder, target_encoder, SENTENCE,
                                                        max_length=max_length), max(1, calls // 5))
    per_batch = {name: median_seconds(lambda f=f: f(text=batch), max(1, calls // 10))
                 for name, f in (("greedy", greedy), ("beam", beam))}
    return {"sentence": SENTENCE, "latency_ms_signature_greedy": round(signature * 1e3, 2),
            "latency_ms_python_loop": round(loop * 1e3, 2), "speedup": round(loop / signature, 1),
            **{f"sentences_per_s_batch64_{k}": round(64 / v, 1) for k, v in per_batch.items()}}


def rebuilt_model(task, data, args, workdir: Path):
    """A finished run's trained Keras model (exported again without training), for the Python-loop baseline:
    the workdir's best weights in a model built the same way."""
    model, _ = task.build(args.model, data, preset=args.preset, config={"attention": args.attention})
    model.load_weights(workdir / "best.weights.h5")
    return model


def main(argv=None) -> dict:
    args = parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from zoo.export import read_card
    from zoo.serving import load
    from zoo.tasks import get_task
    from zoo.tasks.loops import train
    from zoo.tasks.seq2seq.data import prepare_translation_data

    folder = Path(args.data_dir)
    spec = lambda split: f"parallel:{folder / f'{split}.{args.source}.gz'},{folder / f'{split}.{args.target}.gz'}"  # noqa: E731
    task = get_task("seq2seq")
    data = prepare_translation_data(spec("train"), spec("val"), level=args.level, vocab_size=args.vocab_size,
                                    joint_vocab=args.joint_vocab, batch_size=args.batch_size, seed=args.seed,
                                    max_pairs=args.max_pairs)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = Path(args.workdir or Path("runs") / f"{result_name(args)}-{stamp}")
    budget = TimeBudget(args.minutes * 60)
    started = time.perf_counter()
    export, report = train(task, args.model, data, epochs=args.epochs, workdir=workdir,
                           export_dir=args.export_dir, preset=args.preset, config={"attention": args.attention},
                           learning_rate=args.learning_rate, patience=args.patience, seed=args.seed,
                           callbacks=[budget], verbose=2, label_smoothing=args.label_smoothing,
                           beam_width=args.beam_width, alpha=args.alpha)
    seconds = time.perf_counter() - started
    trained_here = hasattr(budget, "started")  # its on_train_begin ran; else a finished run's weights, exported again
    loaded = load(export)
    inputs, references, _ = task.read_labelled(spec("val"), {})
    card = {"beam_width": args.beam_width, "alpha": args.alpha}
    scores = {name: task.score_export(loaded, card, (inputs, references, name == "greedy")) for name in ("beam", "greedy")}
    result = {
        "command": shlex.join([sys.executable, *sys.argv]), "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(), "export": str(export), "data": data.info, "options": vars(args),
        "train_seconds": round(seconds, 1) if trained_here else None, "workdir": str(workdir),
        "trained_here": trained_here, "epochs_run": read_card(export)["training"]["epochs_run"],
        "stopped_by_time_budget": getattr(budget, "stopped_early", None),
        "val_perplexity": report["perplexity"], "val": scores,
        # The Python-loop baseline needs the Keras model: every callback holds the one trained here.
        "speed": speed(loaded, budget.model if trained_here else rebuilt_model(task, data, args, workdir), data,
                       workdir, calls=args.latency_calls, max_length=64),
    }
    write_results(args.out, result_name(args), result, markdown(result))
    return result


def result_name(args: argparse.Namespace) -> str:
    """`translation_multi30k`, or `translation_multi30k_none` for the no-attention baseline (so it keeps both)."""
    return NAME if args.attention == "additive" else f"{NAME}_{args.attention}"


def markdown(result: dict) -> str:
    rows = ["| decoding | BLEU (cased) | BLEU (lowercased) | chrF |", "| --- | --- | --- | --- |"]
    for name, s in result["val"].items():
        rows.append(f"| {name} | {s['bleu']:.2f} | {s['bleu_lowercase']:.2f} | {s['chrf']:.2f} |")
    beam, speed_ = result["val"]["beam"], result["speed"]
    return "\n".join([
        f"# {NAME}: {result['options']['model']} ({result['options']['attention']} attention) on Multi30k "
        f"{result['options']['source']}->{result['options']['target']}, val", "",
        (f"Trained {result['train_seconds']:.0f} s" if result["trained_here"] else
         f"Trained in an earlier run of {result['workdir']}, exported again") +
        f" ({result['epochs_run']} epochs, {result['data']['train_pairs']} pairs; budget "
        f"{result['options']['minutes']} min{', reached' if result['stopped_by_time_budget'] else ''}); "
        f"val perplexity {result['val_perplexity']:.2f}.", "", *rows, "",
        f"Signatures: {beam['bleu_signature']}; {beam['bleu_lowercase_signature']}; {beam['chrf_signature']}", "",
        f"One sentence, greedy: {speed_['latency_ms_signature_greedy']} ms through the exported signature vs "
        f"{speed_['latency_ms_python_loop']} ms for a Python loop of `model.predict` per step "
        f"({speed_['speedup']}x); batch 64: {speed_['sentences_per_s_batch64_greedy']} sentences/s greedy, "
        f"{speed_['sentences_per_s_batch64_beam']} beam.", ""])


if __name__ == "__main__":
    main()
