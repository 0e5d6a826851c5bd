"""zoo's CoNLL-2003 tagger against spaCy's, side by side: dev F1, training time, tagging speed, memory.

Run from the repository root with the `bench` extra (`pip install -e ".[bench]"`; spaCy's blank
English pipeline needs no download). A full run trains both systems (about 45 minutes on 2 cores):

    .venv/bin/python -m benchmarks.ner_vs_spacy

Smoke run (a few minutes):

    .venv/bin/python -m benchmarks.ner_vs_spacy --spacy-steps 50 --zoo-epochs 1 --max-sentences 300 \\
        --latency-calls 50 --out /tmp/ner_vs_spacy

Reuse trained models (skips training; F1 and speed are measured again):

    .venv/bin/python -m benchmarks.ner_vs_spacy --zoo-export saved_models/bilstm_crf_ner/1 \\
        --spacy-model /tmp/ner_vs_spacy/spacy/model-best

Both systems train from scratch on the same sentences (`eng.train`, IOB2) and are scored on
`eng.testa`:
- spaCy 3.8: `spacy convert -c ner` of the sentences, `spacy init config -l en -p ner -o efficiency`,
  `spacy train` for `--spacy-steps` steps (early stopping off, so the step budget is the budget);
  its dev F1 is `spacy evaluate`'s `ents_f` on the gold tokens.
- zoo: `zoo train bilstm_crf_ner` with the README's shipped options for `--zoo-epochs` epochs; its
  dev F1 is seqeval's strict IOB2 entity F1 through the export's `tag_token_lists` path, as
  `zoo evaluate` scores it.
Training minutes are each training command's wall time.

Speed goes through each system's serving path on the same raw strings (each dev sentence's
tokens joined by spaces): zoo's exported `serving_default` signature, spaCy's `nlp.pipe` (its own
tokenizer, `--batch-size`). Each system runs in child processes of its own with `--threads`
threads (zoo: TensorFlow's inter-op pool, intra-op 1, as the README advises for TF Serving; spaCy:
its BLAS threads), `--rounds` of them in alternating order (zoo, spaCy; spaCy, zoo; ...) so the
noise of a shared machine hits both alike. zoo's export is measured three ways: its
`serving_default` from `tf.saved_model.load` (TensorFlow 2's Python path); the same signature
through the TF1 loader and a `Session` (`make_callable`), which is how the ModelServer's C++
`LoadSavedModel` and `Session::Run` execute it, minus the network; and the first again with
`TF_ENABLE_ONEDNN_OPTS=0` in the environment (TensorFlow's Eigen kernels instead of oneDNN's, a
setting of the serving process, as the thread counts are). Each process: a warm-up, `--passes` throughput passes
over all dev sentences in file order at `--batch-size`, then batch-1 latency over
`--latency-calls` calls (every 10th dev sentence). Reported: the best pass of all (tokens/s counts
the CoNLL tokens, the same number for both), the median and p90 of all calls, and the largest
resident high-water mark (`ru_maxrss`) of the system's processes. (Timing both in one process,
calls interleaved, was tried and dropped: spaCy's batch-1 calls took 2.4-2.8 ms there against
1.6-1.8 ms alone.)

Writes `ner_vs_spacy.json` and `ner_vs_spacy.md` to `--out` and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
CONLL = ROOT / ".." / "shared" / "datasets" / "conll2003"
# The README's shipped `zoo train bilstm_crf_ner` options (besides data, epochs and folders).
ZOO_OPTIONS = ["--tag-scheme", "iobes", "--batch-size", "32", "--learning-rate", "0.002", "--lr-decay", "0.05",
               "--patience", "3", "--word-vectors", "glove-6b-50d", "--vectors-vocab", "100000",
               "--singleton-unk", "0.5"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def write_conll(path: Path, sentences) -> Path:
    """Sentences as 4-column CoNLL lines (word, two placeholder columns, IOB2 tag), blank-line separated."""
    with open(path, "w", encoding="utf-8") as f:
        for sentence in sentences:
            f.writelines(f"{token} _ _ {tag}\n" for token, tag in zip(sentence.tokens, sentence.tags))
            f.write("\n")
    return path


def run(command: list[str], **kwargs) -> float:
    """Runs `command` (its output goes to ours) and returns its wall seconds; fails loudly."""
    log("$ " + shlex.join(command))
    start = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    return time.perf_counter() - start


# Measured variants besides "zoo" and "spacy": the same zoo export with TensorFlow's oneDNN kernels
# off (`TF_ENABLE_ONEDNN_OPTS=0`, an environment variable of the serving process), and an older export.
ONEDNN_OFF = "zoo_onednn_off"
BASELINE = "zoo_baseline"
# The same export run the way TF Serving's C++ loader runs it: the TF1 loader and a session.
SESSION = "zoo_session"


def child_env(threads: int, system: str = "") -> dict:
    """The environment of every child: CPU only, `threads` threads for the BLAS libraries."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        env[name] = str(threads)
    if system == ONEDNN_OFF:
        env["TF_ENABLE_ONEDNN_OPTS"] = "0"
    return env


# ----------------------------------------------------------------------------- training


def train_spacy(args, train_file: Path, dev_file: Path, work: Path) -> tuple[Path, float]:
    """spaCy's efficiency NER trained for `--spacy-steps` steps; (model-best folder, wall seconds)."""
    python = [sys.executable, "-m", "spacy"]
    env = child_env(args.threads)
    for path in (train_file, dev_file):
        run([*python, "convert", str(path), str(work), "-c", "ner", "-n", "10"], env=env)
    config = work / "config.cfg"
    run([*python, "init", "config", str(config), "-l", "en", "-p", "ner", "-o", "efficiency", "--force"], env=env)
    seconds = run([*python, "train", str(config), "--output", str(work / "spacy"),
                   "--paths.train", str(work / "train.spacy"), "--paths.dev", str(work / "dev.spacy"),
                   "--training.max_steps", str(args.spacy_steps), "--training.patience", "0",
                   "--training.max_epochs", "0", "--system.seed", "0"], env=env)
    return work / "spacy" / "model-best", seconds


def train_zoo(args, train_file: Path, dev_file: Path, work: Path) -> tuple[Path, float]:
    """`zoo train bilstm_crf_ner` with the shipped options; (export folder, wall seconds)."""
    seconds = run([sys.executable, "-m", "zoo.cli", "train", "bilstm_crf_ner", "--data", f"conll2003:{train_file}",
                   "--dev", f"conll2003:{dev_file}", "--data-scheme", "iob2", *ZOO_OPTIONS,
                   "--epochs", str(args.zoo_epochs), "--workdir", str(work / "zoo_run"),
                   "--export-dir", str(work / "saved_models")], env=child_env(args.threads), cwd=ROOT)
    return max((work / "saved_models" / "bilstm_crf_ner").iterdir(), key=lambda p: int(p.name)), seconds


def spacy_f1(args, model: Path, dev_file: Path, work: Path) -> float:
    """`spacy evaluate`'s entity F1 of `model` on the dev sentences (gold tokens)."""
    dev_docs = work / "dev.spacy"
    if not dev_docs.exists():
        run([sys.executable, "-m", "spacy", "convert", str(dev_file), str(work), "-c", "ner", "-n", "10"])
    metrics = work / "spacy_metrics.json"
    run([sys.executable, "-m", "spacy", "evaluate", str(model), str(dev_docs), "--output", str(metrics)],
        env=child_env(args.threads))
    return json.loads(metrics.read_text())["ents_f"]


# ----------------------------------------------------------------------------- measuring (child processes)


def load_tagger(system: str, model: str, *, batch_size: int, threads: int):
    """A function from a list of raw strings to each system's served output."""
    if system.startswith("zoo"):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the tokenizer ops)

        # TF Serving's --tensorflow_intra_op_parallelism=1 --tensorflow_inter_op_parallelism=THREADS: the
        # tagger's ops are small, so threads serve independent ops (the two LSTM directions) rather
        # than split each op (benchmarks/README.md: faster at batch 1 and 256 on 2 cores).
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        if system == SESSION:
            return session_tagger(model, threads)
        serve = tf.saved_model.load(model).signatures["serving_default"]
        return lambda batch: {k: v.numpy() for k, v in serve(text=tf.constant(batch, dtype=tf.string)).items()}
    import spacy

    nlp = spacy.load(model)
    return lambda batch: [[(e.start, e.end, e.label_) for e in doc.ents] for doc in nlp.pipe(batch, batch_size=batch_size)]


def session_tagger(model: str, threads: int):
    """`serving_default` of `model` as the ModelServer runs it (its C++ `LoadSavedModel` is the TF1 loader:
    restore and init ops, then `Session::Run` on the signature's tensors), from Python."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    config = tf1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=threads)
    session = tf1.Session(graph=graph, config=config)
    with graph.as_default():
        signature = tf1.saved_model.loader.load(session, ["serve"], model).signature_def["serving_default"]
    names = list(signature.outputs)
    run = session.make_callable([signature.outputs[name].name for name in names],
                                feed_list=[signature.inputs["text"].name])
    return lambda batch: dict(zip(names, run(batch)))


def measure(tag, texts: list[str], *, batch_size: int, passes: int, latency_texts: list[str]) -> dict:
    """Seconds per throughput pass and batch-1 milliseconds per call of one tagger, in this (child) process."""
    batches = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
    for batch in batches[:2] + [[text] for text in latency_texts[:10]]:  # warm-up: traces, allocations
        tag(batch)
    seconds = []
    for _ in range(passes):
        start = time.perf_counter()
        for batch in batches:
            tag(batch)
        seconds.append(time.perf_counter() - start)
    latencies = []
    for text in latency_texts:
        start = time.perf_counter()
        tag([text])
        latencies.append(1000 * (time.perf_counter() - start))
    return {"pass_seconds": seconds, "latencies_ms": latencies,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_main(args) -> int:
    system, texts_file, out = args.child
    data = json.loads(Path(texts_file).read_text())
    tag = load_tagger(system, data["models"][system], batch_size=args.batch_size, threads=args.threads)
    result = measure(tag, data["texts"], batch_size=args.batch_size, passes=args.passes,
                     latency_texts=data["latency_texts"])
    Path(out).write_text(json.dumps(result))
    return 0


def measure_all(args, systems: list[str], texts_file: Path, tokens: int) -> dict:
    """Each system in child processes of its own, `--rounds` times in alternating order; pooled figures."""
    runs = {system: [] for system in systems}
    for round_ in range(args.rounds):
        for system in systems if round_ % 2 == 0 else systems[::-1]:
            out = texts_file.with_name(f"{system}_{round_}.json")
            run([sys.executable, "-m", "benchmarks.ner_vs_spacy", "--child", system, str(texts_file), str(out),
                 "--batch-size", str(args.batch_size), "--passes", str(args.passes), "--threads", str(args.threads)],
                env=child_env(args.threads, system), cwd=ROOT)
            runs[system].append(json.loads(out.read_text()))
    result = {}
    for system, measured in runs.items():
        seconds = [s for m in measured for s in m["pass_seconds"]]
        calls = sorted(c for m in measured for c in m["latencies_ms"])
        result[system] = {"pass_seconds": seconds, "tokens_per_second": tokens / min(seconds),
                          "latency_ms": {"median": statistics.median(calls), "p90": calls[int(0.9 * (len(calls) - 1))],
                                         "calls": len(calls),
                                         # Round by round: the noise between processes, beside the pooled median.
                                         "process_medians": [statistics.median(m["latencies_ms"]) for m in measured]},
                          "peak_rss_mib": max(m["peak_rss_mib"] for m in measured)}
    return result


# ----------------------------------------------------------------------------- report


def zoo_f1(export: Path, dev) -> float:
    """Strict IOB2 entity F1 through the export's `tag_tokens` signature, as `zoo evaluate` scores it."""
    from zoo.serving import load
    from zoo.tasks.ner import ner_report, tag_token_lists

    predicted = tag_token_lists(load(export).signatures["tag_tokens"], [s.tokens for s in dev])
    return ner_report([s.tags for s in dev], predicted)["f1"]


def markdown(result: dict) -> str:
    spacy = result["spacy"]
    columns = [("zoo", "zoo, `signatures[...]`"), (SESSION, "zoo, TF1 session (TF Serving's path)"),
               (ONEDNN_OFF, "zoo, `TF_ENABLE_ONEDNN_OPTS=0`"), ("spacy", "spaCy"), (BASELINE, "zoo baseline export")]
    columns = [(key, title) for key, title in columns if key in result]
    settings = result["settings"]

    def cell(side, row):
        if row == "f1":
            return f"{side['dev_f1']:.4f}" if "dev_f1" in side else ("(not scored)" if side is result.get(BASELINE) else "(same export)")
        if row == "minutes":
            if "dev_f1" not in side:
                return ""
            return f"{side['train_minutes']:.1f}" if side.get("train_minutes") is not None else "(reused)"
        if row == "tokens":
            ratio = "" if side is spacy else f" ({side['tokens_per_second'] / spacy['tokens_per_second']:.2f}x)"
            return f"{side['tokens_per_second']:,.0f}{ratio}"
        if row == "rounds":  # rounds whose process had a lower batch-1 median than spaCy's process of the round
            medians = side["latency_ms"].get("process_medians")
            if not medians:
                return ""
            spread = f"{min(medians):.2f}-{max(medians):.2f}"
            if side is spacy:
                return spread
            wins = sum(mine < theirs for mine, theirs in zip(medians, spacy["latency_ms"]["process_medians"]))
            return f"{spread} ({wins} of {len(medians)})"
        if row in ("median", "p90"):
            ratio = "" if side is spacy else f" ({spacy['latency_ms'][row] / side['latency_ms'][row]:.2f}x)"
            return f"{side['latency_ms'][row]:.2f}{ratio}"
        return f"{side['peak_rss_mib']:.0f}"

    rows = [("f1", "dev (eng.testa) entity F1"), ("minutes", "training minutes"),
            ("tokens", f"tokens/s, batch {settings['batch_size']} (best of {settings['passes'] * settings['rounds']} passes)"),
            ("median", "batch-1 latency, median ms"), ("p90", "batch-1 latency, p90 ms"),
            ("rounds", "batch-1 median per process, ms (rounds below spaCy's)"),
            ("memory", "peak memory, MiB (RSS)")]
    lines = [f"# zoo `bilstm_crf_ner` vs spaCy {result['spacy_version']} efficiency NER ({result['date']})", "",
             f"`{result['command']}`", "",
             f"{result['dev_sentences']:,} dev sentences, {result['dev_tokens']:,} tokens; {settings['threads']} "
             f"threads; load average {result['machine']['load_average'][0]:.1f} at the start, "
             f"{result['load_average_end'][0]:.1f} at the end. Speed ratios are against spaCy (above 1: faster).", "",
             "| | " + " | ".join(title for _, title in columns) + " |", "| --- |" + " ---: |" * len(columns)]
    lines += [f"| {label} | " + " | ".join(cell(result[key], row) for key, _ in columns) + " |" for row, label in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path, default=CONLL / "eng.train.gz")
    parser.add_argument("--dev", type=Path, default=CONLL / "eng.testa.gz")
    parser.add_argument("--spacy-steps", type=int, default=8000, help="spaCy training steps (default 8000)")
    parser.add_argument("--zoo-epochs", type=int, default=15, help="zoo training epochs (default: the shipped 15)")
    parser.add_argument("--zoo-export", type=Path, help="a trained zoo export to measure instead of training one")
    parser.add_argument("--zoo-baseline", type=Path,
                        help="another zoo export (an earlier graph of the same weights) timed beside the two")
    parser.add_argument("--spacy-model", type=Path, help="a trained spaCy pipeline to measure instead of training one")
    parser.add_argument("--max-sentences", type=int, help="first N training sentences, N // 4 dev (smoke runs)")
    parser.add_argument("--batch-size", type=int, default=256, help="sentences per throughput call (default 256)")
    parser.add_argument("--passes", type=int, default=3, help="throughput passes over dev per process (default 3)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="processes per system, in alternating order; the best pass of all is reported (default 2)")
    parser.add_argument("--latency-calls", type=int, default=300, help="batch-1 calls per process (default 300)")
    parser.add_argument("--threads", type=int, default=2, help="threads of each system (default 2)")
    parser.add_argument("--workdir", type=Path, help="folder for converted data and trained models (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--child", nargs=3, metavar=("SYSTEM", "TEXTS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args)

    import spacy

    from pipelines.readers import read_conll
    from benchmarks.reporting import machine_info, write_results

    started = time.time()
    machine = machine_info()
    train, dev = read_conll(args.train), read_conll(args.dev)
    if args.max_sentences:
        train, dev = train[:args.max_sentences], dev[:max(args.max_sentences // 4, 1)]
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        train_file, dev_file = write_conll(work / "train.conll", train), write_conll(work / "dev.conll", dev)
        zoo_minutes = spacy_minutes = None
        if args.zoo_export:
            zoo_export = args.zoo_export
        else:
            zoo_export, seconds = train_zoo(args, train_file, dev_file, work)
            zoo_minutes = seconds / 60
        if args.spacy_model:
            spacy_model = args.spacy_model
        else:
            spacy_model, seconds = train_spacy(args, train_file, dev_file, work)
            spacy_minutes = seconds / 60

        texts = [" ".join(s.tokens) for s in dev]
        tokens = sum(len(s.tokens) for s in dev)
        latency_texts = (texts[::10] * args.latency_calls)[:args.latency_calls]
        texts_file = work / "texts.json"
        models = {"zoo": str(zoo_export), SESSION: str(zoo_export), ONEDNN_OFF: str(zoo_export),
                  "spacy": str(spacy_model)}
        if args.zoo_baseline:
            models[BASELINE] = str(args.zoo_baseline)
        texts_file.write_text(json.dumps({"texts": texts, "tokens": tokens, "latency_texts": latency_texts,
                                          "models": models}))
        log(f"measuring speed and memory: each system in its own process, {args.rounds} rounds")
        speed = measure_all(args, list(models), texts_file, tokens)
        f1 = {"zoo": zoo_f1(zoo_export, dev), "spacy": spacy_f1(args, spacy_model, dev_file, work)}

    result = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python -m benchmarks.ner_vs_spacy", *(argv if argv is not None else sys.argv[1:])]),
        "spacy_version": spacy.__version__,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "child"},
        "dev_sentences": len(dev), "dev_tokens": tokens, "machine": machine,
        "load_average_end": os.getloadavg(), "minutes": (time.time() - started) / 60,
        "zoo": {"model": str(zoo_export), "train_minutes": zoo_minutes, "dev_f1": f1["zoo"], **speed["zoo"]},
        "spacy": {"model": str(spacy_model), "train_minutes": spacy_minutes, "dev_f1": f1["spacy"], **speed["spacy"]},
    }
    result[ONEDNN_OFF] = {"model": str(zoo_export), "environment": {"TF_ENABLE_ONEDNN_OPTS": "0"}, **speed[ONEDNN_OFF]}
    result[SESSION] = {"model": str(zoo_export), "path": "tf.compat.v1 loader + Session", **speed[SESSION]}
    if args.zoo_baseline:
        result[BASELINE] = {"model": str(args.zoo_baseline), **speed[BASELINE]}
    write_results(args.out, "ner_vs_spacy" + ("_smoke" if args.max_sentences else ""), result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
