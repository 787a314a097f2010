"""The plots the benches write (matplotlib, imported only when a plot is asked for)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def new_plot() -> tuple[Any, Any]:
    """A figure and its axis at the size docs/PERFORMANCE.md shows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(5.5, 3.2), dpi=90)


def save_plot(figure: Any, axis: Any, path: Path, title: str, legend_size: int) -> None:
    axis.set_title(title, fontsize=10)
    axis.set_ylim(bottom=0)
    axis.legend(fontsize=legend_size)
    figure.tight_layout()
    figure.savefig(path)
    print(f"plot written to {path}")
