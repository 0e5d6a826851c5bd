"""What every benchmark records beside its figures: the machine, and `results/<name>.json` + `.md`."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

SHARED_MACHINE = "2 CPU cores shared with other engineers' jobs: seconds are noisy"


def machine_info(note: str = SHARED_MACHINE) -> dict:
    """Platform, CPU count, load average and library versions, so figures can be compared across runs."""
    from zoo.export import software_versions

    return {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg(), "note": note,
            **software_versions()}


def write_results(out_dir: str | os.PathLike, name: str, result: dict, markdown: str) -> None:
    """Writes `<out_dir>/<name>.json` and `<name>.md`, and prints the markdown."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    (out_dir / f"{name}.md").write_text(markdown, encoding="utf-8")
    print(markdown)
