"""What the demos share: the output folder, figures without pyplot, a printed table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def output_dir(out_dir) -> Path:
    """Create ``out_dir`` (and its parents) and print where the plots go."""
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    print(f"writing plots to {path.resolve()}")
    return path


def figure(nrows: int = 1, ncols: int = 1, size: tuple = (6.0, 4.0)):
    """A matplotlib ``Figure`` and its axes, drawn by Agg: no pyplot, no window, nothing global."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def save(fig, path: Path) -> str:
    """Save ``fig`` as a PNG at ``path`` and return the path as a string."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return str(path)


def _cell(value, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and fmt == "g":
        return f"{value:.3g}"
    return format(value, fmt)


def print_table(rows: Sequence[dict], columns: Sequence[tuple[str, str, str]]) -> None:
    """Print ``rows`` (dicts) as aligned columns; ``columns`` holds ``(key, header, format)``.

    Text columns (format "s") are aligned left, numbers right; a missing value prints as "-".
    """
    cells = [[header for _, header, _ in columns]]
    cells += [[_cell(row.get(key), fmt) for key, _, fmt in columns] for row in rows]
    widths = [max(len(line[k]) for line in cells) for k in range(len(columns))]
    for k, line in enumerate(cells):
        padded = [c.ljust(w) if fmt == "s" else c.rjust(w)
                  for c, w, (_, _, fmt) in zip(line, widths, columns)]
        print("  ".join(padded).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
