"""Namespace coverage: which NumPy functions that ``jax.numpy`` offers ``diffopt.numpy`` has too.

For ``numpy``, ``numpy.linalg`` and ``numpy.fft``: the functions (callables that are not classes)
that both NumPy and ``jax.numpy`` export, how many of them diffopt exports, and which are missing.
JAX's names come from the installed ``jax`` or, without it, from a JAX source checkout
(``--jax-source DIR``: the names its ``jax/numpy/{__init__,linalg,fft}.py`` export).

    python benchmarks/numpy_coverage.py                     # with jax installed
    python benchmarks/numpy_coverage.py --jax-source ~/jax  # a checkout, jax not installed
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from _harness import parser, print_table, versions, write_json

# isort: split

import numpy as np

import diffopt.numpy as dnp

NAMESPACES = {"numpy": ("", "__init__.py"), "numpy.linalg": ("linalg", "linalg.py"),
              "numpy.fft": ("fft", "fft.py")}
EXPORT = re.compile(r"\b(\w+) as (\w+)\b")  # JAX's modules export with ``import x as x``


def jax_names(source: Path | None) -> dict[str, set[str]] | None:
    """Each namespace's names in ``jax.numpy``: from ``source`` (a checkout) or the installed
    package; None when neither is there."""
    if source is not None:
        folder = source / "jax" / "numpy"
        return {ns: {b for a, b in EXPORT.findall((folder / file).read_text()) if a == b}
                for ns, (_, file) in NAMESPACES.items()}
    try:
        jnp = importlib.import_module("jax.numpy")
    except ImportError:
        return None
    return {ns: set(dir(getattr(jnp, sub) if sub else jnp)) for ns, (sub, _) in NAMESPACES.items()}


def is_function(obj) -> bool:
    return callable(obj) and not isinstance(obj, type)


def coverage(jax: dict[str, set[str]]) -> list[dict]:
    """One row per namespace: the shared functions, diffopt's share and what it lacks."""
    rows = []
    for ns, (sub, _) in NAMESPACES.items():
        numpy_ns = getattr(np, sub) if sub else np
        ours = getattr(dnp, sub, None) if sub else dnp
        shared = sorted(n for n in jax[ns] if not n.startswith("_")
                        and is_function(getattr(numpy_ns, n, None)))
        missing = [n for n in shared if ours is None or not hasattr(ours, n)]
        have = len(shared) - len(missing)
        rows.append({"namespace": ns, "shared": len(shared), "diffopt": have,
                     "coverage": have / len(shared) if shared else 1.0, "missing": missing})
    return rows


def main(argv=None) -> dict | None:
    cli = parser(__doc__, "coverage.json", "(no effect: counting is instant)")
    cli.add_argument("--jax-source", type=Path, default=None,
                     help="a JAX source checkout to read jax.numpy's names from")
    args = cli.parse_args(argv)
    jax = jax_names(args.jax_source)
    if jax is None:
        print("coverage: jax is not installed; install it or pass --jax-source DIR (a checkout)")
        return None
    rows = coverage(jax)
    print_table([{**r, "coverage": 100 * r["coverage"]} for r in rows],
                [("namespace", "namespace", "s"), ("shared", "NumPy functions in jax.numpy", "d"),
                 ("diffopt", "in diffopt", "d"), ("coverage", "coverage %", ".1f")])
    for r in rows:
        if r["missing"]:
            print(f"\nmissing from diffopt's {r['namespace']} ({len(r['missing'])}): "
                  + " ".join(r["missing"]))
    report = {"jax_names_from": "installed jax" if args.jax_source is None else "a JAX checkout",
              "versions": versions("diffopt", "numpy", "jax"), "namespaces": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "coverage.json", report)
    return report


if __name__ == "__main__":
    main()
