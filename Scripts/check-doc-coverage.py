#!/usr/bin/env python3
"""Fails when a public symbol of Vitreous's library modules has no doc comment.

Reads the symbol graphs of `swift package dump-symbol-graph` (the folder given as the first argument) and lists,
per module, every public symbol declared in the package's own sources without a `///` comment; symbols that come
from elsewhere (a protocol's default implementation in the standard library, say) have no location in Sources/ and
are skipped. Exits 1 when any is missing. `--modules` prints the modules checked instead. Used by
Scripts/build-docs.sh.
"""
import json
import pathlib
import sys

# The library products of Package.swift: what another package can import.
MODULES = ["VitreousTensor", "VitreousImage", "VitreousModel", "VitreousRepair", "VitreousFigure", "VitreousDemo",
           "VitreousAnalysis",
           "VitreousTesting", "VitreousC", "VitreousCLI"]


def undocumented(graph: dict) -> list[str]:
    rows = []
    for symbol in graph["symbols"]:
        location = symbol.get("location", {})
        uri = location.get("uri", "")
        if "/Sources/" not in uri or symbol.get("docComment", {}).get("lines"):
            continue
        line = location.get("position", {}).get("line", 0) + 1
        rows.append(f"Sources/{uri.split('/Sources/', 1)[1]}:{line}: {symbol['kind']['displayName'].lower()} "
                    f"{'.'.join(symbol['pathComponents'])} has no doc comment")
    return rows


def main() -> int:
    if sys.argv[1:] == ["--modules"]:
        print(" ".join(MODULES))
        return 0
    folder = pathlib.Path(sys.argv[1])
    missing, total = [], 0
    for module in MODULES:
        path = folder / f"{module}.symbols.json"
        if not path.exists():
            print(f"doc coverage: no symbol graph for {module} in {folder}", file=sys.stderr)
            return 1
        graph = json.loads(path.read_text())
        total += len(graph["symbols"])
        missing += undocumented(graph)
    for row in sorted(missing):
        print(row, file=sys.stderr)
    if missing:
        print(f"doc coverage: {len(missing)} public symbols have no doc comment", file=sys.stderr)
        return 1
    print(f"doc coverage: every public symbol of {len(MODULES)} modules ({total} symbols) has a doc comment")
    return 0


if __name__ == "__main__":
    sys.exit(main())
