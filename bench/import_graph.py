"""The package's internal import graph: modules, edges, lines (issue 9's before/after).

    python bench/import_graph.py            # summary table
    python bench/import_graph.py --edges    # every edge, ``a -> b``

Reads the source with :mod:`ast` (function-level imports included, as import-linter
does); nothing is imported.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "nbrules"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph() -> tuple[dict[str, int], set[tuple[str, str]], dict[str, set[str]]]:
    lines: dict[str, int] = {}
    raw: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        lines[name] = len(path.read_text(encoding="utf-8").splitlines())
        raw[name] = imports(path, name)
    edges = {(a, b) for a, targets in raw.items() for b in targets
             if b in lines and a != b}
    external = {a: {t.split(".")[0] for t in targets if not t.startswith("nbrules")}
                for a, targets in raw.items()}
    return lines, edges, external


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", action="store_true")
    args = parser.parse_args()
    lines, edges, external = graph()
    print(f"modules: {len(lines)}  edges: {len(edges)}  lines: {sum(lines.values())}")
    print(f"largest module: {max(lines, key=lines.__getitem__)} ({max(lines.values())} lines)")
    heavy = ("nbclient", "papermill", "IPython", "snakemake")
    for lib in heavy:
        users = sorted(m for m, ext in external.items() if lib in ext)
        print(f"imports {lib}: {', '.join(users) or '-'}")
    if args.edges:
        for a, b in sorted(edges):
            print(f"{a} -> {b}")


if __name__ == "__main__":
    main()
