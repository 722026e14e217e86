"""Instructions a client executes per send, stream or event, counted by valgrind.

    python benchmarks/server.py --port 18777 < /dev/zero &
    python benchmarks/instructions.py ours stream '{"events": 1, "concurrency": 50}'
    python benchmarks/instructions.py floor paced '{"streams": 10, "pace": 20, "hold": 10}' \
        --vary events --sizes 100 300

On a virtual machine the CPU time of the same code moves by 10 to 60% from one run to
the next; the instructions it executes move by a few percent. `worker.py` runs twice
under callgrind, with the varied parameter (`streams` by default) at two sizes; the
difference of the two totals, divided by what the second run did more, leaves start-up
and warm-up out. (Copies count an instruction per byte moved, `rep movsb`, so a change
that only saves copying shows less here than in time.) With `--caches` the runs are
cachegrind's instead, which simulates this machine's caches and branch predictor and
adds the misses and mispredictions per send (or stream, or event): what instructions
alone leave out of the time. Needs valgrind, and the benchmark server listening on
`--base-url`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXTRA_EVENTS = 5  # workflow and node start and finish, message_end


# what each tool counts: the name printed, and the line of valgrind's report it is on
CALLGRIND = {"instructions": r"Collected : ([\d,]+)"}
CACHEGRIND = {
    "instructions": r"I\s+refs:\s+([\d,]+)",
    "I1 misses": r"I1\s+misses:\s+([\d,]+)",
    "D1 misses": r"D1\s+misses:\s+([\d,]+)",
    "LL misses": r"LL misses:\s+([\d,]+)",
    "mispredicts": r"Mispredicts:\s+([\d,]+)",
}


def under_valgrind(
    python: list[str],
    out: str,
    peer: str,
    kind: str,
    params: dict[str, object],
    tool: tuple[str, ...] = ("--tool=callgrind",),
) -> str:
    """Run one worker under callgrind, or the valgrind `tool` given (its output to
    `out`); valgrind's report, once the worker has said every answer was right."""
    name = tool[0].removeprefix("--tool=")
    done = subprocess.run(
        [
            "valgrind",
            *tool,
            f"--{name}-out-file={out}",
            *python,
            str(HERE / "worker.py"),
            peer,
            kind,
            json.dumps(params),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "error" in result or not result.get("text_ok", False):
        raise SystemExit(f"the worker failed: {result}")
    return done.stderr


def collected(peer: str, kind: str, params: dict[str, object], caches: bool) -> list[int]:
    """The totals of one worker run: callgrind's instructions or, with `caches`,
    cachegrind's counts (`CACHEGRIND`)."""
    tool: tuple[str, ...] = ("--tool=callgrind",)
    counts = CALLGRIND
    if caches:
        tool, counts = ("--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes"), CACHEGRIND
    with tempfile.TemporaryDirectory() as tmp:
        report = under_valgrind([sys.executable], f"{tmp}/out", peer, kind, params, tool)
    totals = []
    for pattern in counts.values():
        found = re.search(pattern, report)
        if found is None:
            raise SystemExit(f"no total from valgrind:\n{report[-2000:]}")
        totals.append(int(found.group(1).replace(",", "")))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("peer", help="ours, floor, ... (a module of benchmarks/peers)")
    parser.add_argument("kind", choices=["stream", "blocking", "paced"])
    parser.add_argument("params", help='worker parameters, JSON: {"events": 1, ...}')
    parser.add_argument("--vary", choices=["streams", "events"], default="streams")
    parser.add_argument("--sizes", type=int, nargs=2, default=[100, 300], metavar=("A", "B"))
    parser.add_argument("--base-url", default="http://127.0.0.1:18777/v1")
    parser.add_argument(
        "--caches", action="store_true", help="cachegrind: cache misses and mispredictions too"
    )
    args = parser.parse_args()
    params = {"base_url": args.base_url, **json.loads(args.params)}
    if args.vary == "streams" and "concurrency" not in params:
        # the worker warms up min(concurrency, 200) streams: the same in both runs only so
        parser.error('give "concurrency" in params when varying streams')
    small, large = args.sizes
    runs = [
        collected(args.peer, args.kind, {**params, args.vary: size}, args.caches)
        for size in args.sizes
    ]
    names = list(CACHEGRIND if args.caches else CALLGRIND)
    for name, before, after in zip(names, *runs, strict=True):
        report(args, name, after - before, large - small, params)


def report(
    args: argparse.Namespace, name: str, extra: int, more: int, params: dict[str, Any]
) -> None:
    """One count per send, per stream and event, or per event."""
    if args.kind == "blocking":
        print(f"{args.peer} blocking: {extra / more:,.0f} {name} per send")
        return
    events_per_stream = int(params.get("events", 1)) + EXTRA_EVENTS
    streams = int(params.get("streams", 1))
    if args.vary == "streams":
        per_stream = extra / more
        print(
            f"{args.peer} {args.kind}: {per_stream:,.0f} {name} per stream, "
            f"{per_stream / events_per_stream:,.0f} per event"
        )
    else:
        print(f"{args.peer} {args.kind}: {extra / (more * streams):,.0f} {name} per event")


if __name__ == "__main__":
    main()
