"""`zoo quickstart`: synthetic corpus -> trained `bilstm_ner` -> export -> load -> tags, in minutes."""

from __future__ import annotations

import os
import time
from pathlib import Path

SENTENCE = "Sharon flew to Miami last Friday."


def quickstart(
    *,
    export_dir: str | os.PathLike = "saved_models",
    workdir: str | os.PathLike,
    epochs: int = 6,
    seed: int = 0,
    n_sentences: int = 3000,
) -> list[tuple[str, str, float]]:
    """Runs the whole loop on the project's own data and returns the tagged example sentence."""
    from pipelines.readers import write_token_tag
    from pipelines.synthetic import synthetic_ner_corpus
    from zoo.tasks.ner import predict_texts, prepare_ner_data, train_ner

    started = time.perf_counter()
    workdir = Path(workdir)
    corpus = synthetic_ner_corpus(n_sentences, seed=seed)
    cut = int(0.9 * len(corpus))
    train, dev = corpus[:cut], corpus[cut:]
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    write_token_tag(data_dir / "train.tsv", train)
    write_token_tag(data_dir / "dev.tsv", dev)
    print(f"[1/4] synthetic corpus: {len(train)} train + {len(dev)} dev sentences (seed {seed}) in {data_dir}")

    data = prepare_ner_data(train, dev, model="bilstm_ner", batch_size=64, seed=seed,
                            info={"train": f"tsv:{data_dir / 'train.tsv'}", "dev": f"tsv:{data_dir / 'dev.tsv'}",
                                  "generator": f"pipelines.synthetic.synthetic_ner_corpus(seed={seed})"})
    print(f"[2/4] training bilstm_ner (preset quickstart, {epochs} epochs) in {workdir}")
    path, report = train_ner("bilstm_ner", data, epochs=epochs, workdir=workdir, export_dir=export_dir,
                             preset="quickstart", learning_rate=1e-2, patience=2, seed=seed)
    print(f"[3/4] exported {path}  (dev token accuracy {report['token_accuracy']:.4f}, entity F1 {report['f1']:.4f})")

    (tagged,) = predict_texts(path, [SENTENCE])
    print(f"[4/4] loaded the export back and tagged: {SENTENCE}")
    for token, tag, score in tagged:
        print(f"  {token:<10}{tag:<8}{score:.3f}")
    print(" ".join(tag for _, tag, _ in tagged))
    print(f"done in {time.perf_counter() - started:.0f} s. Next: zoo predict {path} \"Your sentence here.\"")
    return tagged
