"""The notebooks in notebooks/ run top to bottom in a fresh kernel, so that they cannot rot.

Each notebook is executed with nbclient (kernel ``python3``, working directory ``notebooks/``) and must finish
without an error, without a warning written to its output, and with the outputs that show it did its job.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import empathy_score

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 600  # seconds per cell; the slowest cell (scoring 2,000 contacts) takes about a minute

pytestmark = pytest.mark.slow


def _outputs(nb: Any, output_type: str | None = None) -> list[Any]:
    return [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if output_type in (None, o.output_type)
    ]


def _images(nb: Any) -> int:
    return sum(1 for o in _outputs(nb) if "image/png" in o.get("data", {}))


def _text(nb: Any) -> str:
    """Everything the notebook printed or displayed as text or HTML."""
    parts = []
    for o in _outputs(nb):
        if o.output_type == "stream":
            parts.append(o.text)
        for mime in ("text/plain", "text/html"):
            if mime in o.get("data", {}):
                parts.append(o.data[mime])
    return "\n".join(parts)


def _check_quickstart(nb: Any) -> None:
    text = _text(nb)
    for name in ("en_transcript_1.txt", "es_transcript_2.txt", "fi_transcript_2.txt"):
        assert name in text
    html = "\n".join(o.data["text/html"] for o in _outputs(nb) if "text/html" in o.get("data", {}))
    assert "spans" in html and "hold_request" in html, "displaCy span view with the evidence labels"
    assert _images(nb) >= 4, "probabilities, explanation, pillars and dimensions charts"


def _check_batch(nb: Any) -> None:
    text = _text(nb)
    assert "scored 2,000 contacts" in text
    assert "; 0 could not be read" in text, "every generated transcript parses"
    assert "Team " in text and "hold" in text
    assert _images(nb) >= 6


def _check_training(nb: Any) -> None:
    text = _text(nb)
    assert "feature_names" in text and "has_empathy" in text, "the model card lists the feature names"
    assert "chosen logreg_C" in text, "training progress reported"
    assert "your model" in text and "bundled model" in text
    assert _images(nb) >= 2, "confusion matrices and reliability curves"


CHECKS: dict[str, Callable[[Any], None]] = {
    "01_quickstart.ipynb": _check_quickstart,
    "02_batch_analysis.ipynb": _check_batch,
    "03_train_your_own.ipynb": _check_training,
}


def test_every_notebook_is_tested() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_notebook_runs(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Set before jupyter_core is imported, which otherwise warns that its paths are moving to platformdirs.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    # The kernel imports the same empathy_score as these tests: the installed package, or else this checkout.
    if Path(empathy_score.__file__).resolve().parents[1] == ROOT:
        path = [str(ROOT), os.environ.get("PYTHONPATH", "")]
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in path if p))
    for module in ("matplotlib", "pandas", "ipykernel"):
        pytest.importorskip(module)
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{name}: saved with outputs"
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if a cell fails
    print(f"{name}: {time.perf_counter() - start:.1f} s")

    assert not _outputs(nb, "error")
    stderr = "".join(o.text for o in _outputs(nb, "stream") if o.name == "stderr")
    assert "Warning" not in stderr, stderr[:2000]
    CHECKS[name](nb)
