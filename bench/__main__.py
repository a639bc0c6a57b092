"""`python -m bench [NAME [ARGS...]] | all`: run benchmarks.

- no argument: `bench_sweep` (ours vs the scikit-image script vs the floor at 512, 1024 and
  2048 px tiles, sparse and dense nuclei, with a per-stage breakdown; what `make bench` runs,
  about 20 minutes on 2 cores);
- `plate [ARGS...]`: the end-to-end comparison with OpenHCS as well (`bench_plate`);
- `NAME [ARGS...]`: `bench/bench_NAME.py`'s `main()`, with ARGS as its command line;
- `all`: every `bench/bench_*.py` module's `main()` in turn, without arguments.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

DEFAULT = "sweep"


def _run(name: str, args: list[str]) -> int:
    module = importlib.import_module(f"bench.bench_{name.removeprefix('bench_')}")
    main = module.main
    if inspect.signature(main).parameters:
        rc = main(args)
    else:  # a main() that reads sys.argv itself, or takes no arguments
        saved = sys.argv
        sys.argv = [f"bench {name}", *args]
        try:
            rc = main()
        finally:
            sys.argv = saved
    return rc if isinstance(rc, int) else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if argv[:1] != ["all"]:
        if argv and not argv[0].startswith("-"):
            return _run(argv[0], argv[1:])
        return _run(DEFAULT, argv)
    failed = 0
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        try:
            failed += _run(path.stem, []) != 0
        except Exception as exc:  # one broken benchmark must not hide the others
            print(f"{path.stem}: FAILED: {type(exc).__name__}: {exc}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
