"""A finished `zoo train bilstm_crf_ner` run exported again with this version's serving graph.

    .venv/bin/python -m benchmarks.ner_reexport RUN_FOLDER EXPORT --out BASE_DIR

`RUN_FOLDER` is the run's `--workdir` (`best.weights.h5`, `vocab.txt`, `tags.txt`, `chars.txt`),
`EXPORT` its export (for the model card). The same weights go out as the next version of
`BASE_DIR/bilstm_crf_ner`, so an old graph and a new one can be compared (`ner_tagger_ab`,
`ner_vs_spacy --zoo-baseline`) without training again. Prints the new export's path.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="the zoo train work folder")
    parser.add_argument("export", type=Path, help="its export (for the model card)")
    parser.add_argument("--out", type=Path, required=True, help="base folder of the new export")
    args = parser.parse_args(argv)

    from zoo.export import read_card
    from zoo.tasks.ner.serving import export_tagger, tagger_from_run

    card = read_card(args.export)
    tagger = tagger_from_run(args.run, card)
    print(export_tagger(tagger, base_dir=args.out, name=args.export.resolve().parent.name, card=card))
    return 0


if __name__ == "__main__":
    sys.exit(main())
