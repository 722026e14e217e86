"""Instructions per send or stream, function by function, counted by valgrind.

    python benchmarks/server.py --port 18777 < /dev/zero &
    python3.12 benchmarks/functions.py ours floor blocking '{"events": 50, "concurrency": 50}'

`instructions.py` gives one total; this says where it goes. Python 3.12's perf support
(`python -X perf`) runs every Python function through a small trampoline of its own
and writes their addresses to `/tmp/perf-PID.map`; callgrind counts each trampoline's
inclusive instructions, which are its function's, callees included. `worker.py` runs
twice per peer under callgrind, at two sizes, and the difference per extra send (or
stream) leaves start-up and warm-up out, as in `instructions.py`. A function that calls
itself, directly or through others, is counted once per entry from another function
(its own recursive entries are left out); coroutines count each time they resume.
The trampolines add their own instructions, so totals are some 20% above
`instructions.py`'s; compare peers within one run of this script, not with that one.
Needs valgrind, a Python >= 3.12 built with perf support, the package and the peers
installed for it, and the benchmark server listening on `--base-url`.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import re
import sys
import tempfile
from pathlib import Path

from instructions import under_valgrind

ADDRESS = re.compile(r"0x([0-9a-f]+)")
NAMED = re.compile(r"\((\d+)\)(?: (.*))?")


class PerfMap:
    """The functions' trampolines: address ranges to `py::name:file`."""

    def __init__(self, path: Path) -> None:
        entries = []
        for line in path.read_text().splitlines():
            start, size, name = line.split(" ", 2)
            entries.append((int(start, 16), int(size, 16), name.removeprefix("py::")))
        entries.sort()
        self._starts = [entry[0] for entry in entries]
        self._entries = entries

    def name(self, function: str) -> str | None:
        found = ADDRESS.match(function)
        if found is None:
            return None
        address = int(found.group(1), 16)
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and address < self._entries[i][0] + self._entries[i][1]:
            return self._entries[i][2]
        return None


def inclusive(callgrind_out: Path, perf: PerfMap) -> collections.Counter[str]:
    """The instructions of each Python function, over its calls from other functions."""
    names: dict[str, str] = {}

    def resolve(token: str) -> str:
        found = NAMED.match(token)
        if found is None:
            return token
        if found.group(2) is not None:
            names[found.group(1)] = found.group(2)
        return names[found.group(1)]

    totals: collections.Counter[str] = collections.Counter()
    caller = callee = ""
    cost_follows = False
    with callgrind_out.open() as lines:
        for line in lines:
            if cost_follows:
                cost_follows = False
                name = perf.name(callee)
                parts = line.split()
                if name is not None and name != perf.name(caller) and len(parts) > 1:
                    totals[name] += int(parts[1])
            elif line.startswith("fn="):
                caller = resolve(line[3:].strip())
            elif line.startswith("cfn="):
                callee = resolve(line[4:].strip())
            elif line.startswith("calls="):
                cost_follows = True
    return totals


def counted(
    python: str, peer: str, kind: str, params: dict[str, object]
) -> collections.Counter[str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        report = under_valgrind([python, "-X", "perf"], str(out), peer, kind, params)
        pid = re.search(r"==(\d+)==", report)
        if pid is None:
            raise SystemExit(f"no process id from valgrind:\n{report[-2000:]}")
        perf_map = Path(f"/tmp/perf-{pid.group(1)}.map")
        try:
            return inclusive(out, PerfMap(perf_map))
        finally:
            perf_map.unlink(missing_ok=True)


def short(name: str) -> str:
    return re.sub(r":/\S*?(site-packages|lib/python3\.\d+|benchmarks)/", ":", name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("peers", nargs="+", help="ours, floor, ... then the kind")
    parser.add_argument("params", help='worker parameters, JSON: {"events": 50, ...}')
    parser.add_argument("--sizes", type=int, nargs=2, default=[500, 2000], metavar=("A", "B"))
    parser.add_argument("--top", type=int, default=60, help="rows to print")
    parser.add_argument("--python", default=sys.executable, help="a Python >= 3.12")
    parser.add_argument("--base-url", default="http://127.0.0.1:18777/v1")
    args = parser.parse_args()
    *peers, kind = args.peers
    if kind not in ("stream", "blocking", "paced") or not peers:
        parser.error("give one or more peers, then stream, blocking or paced")
    params = {"base_url": args.base_url, **json.loads(args.params)}
    small, large = args.sizes
    per_unit: dict[str, dict[str, float]] = {}
    for peer in peers:
        runs = [counted(args.python, peer, kind, {**params, "streams": n}) for n in args.sizes]
        per_unit[peer] = {
            short(name): (runs[1][name] - runs[0][name]) / (large - small)
            for name in runs[0].keys() | runs[1].keys()
        }
    unit = "send" if kind == "blocking" else "stream"
    rows = sorted(
        {name for costs in per_unit.values() for name in costs},
        key=lambda name: -max(abs(costs.get(name, 0.0)) for costs in per_unit.values()),
    )
    print(f"instructions per {unit}, each function with what it calls")
    print("  ".join(f"{peer:>12}" for peer in peers) + "  function")
    for name in rows[: args.top]:
        print("  ".join(f"{per_unit[peer].get(name, 0.0):12,.0f}" for peer in peers) + f"  {name}")


if __name__ == "__main__":
    main()
