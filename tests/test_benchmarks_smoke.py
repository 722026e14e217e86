"""The benchmark runner works end to end: its one command writes a checked JSON result.

Only this SDK and the hand-written floor run (no third-party peers needed), on the
in-memory decoder and on a few streams over loopback. Nothing here asserts a timing:
performance figures live in `benchmarks/results/`, not in tests.
"""

import json
import sys
from pathlib import Path

import anyio
import pytest

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent


RUN = [sys.executable, str(ROOT / "benchmarks" / "run.py")]


async def run_bench(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "result.json"
    with anyio.fail_after(100):
        done = await anyio.run_process(
            [*RUN, "--quick", "--json", str(out), *args], check=False, cwd=ROOT
        )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(out.read_text())


async def test_decoder_benchmark_reports_our_figures_and_checks_the_text(tmp_path: Path) -> None:
    report = await run_bench(tmp_path, "--only", "decoder,bigevent", "--peers", "ours,floor")
    decoder = report["scenarios"]["decoder"]["results"]
    for peer in ("ours", "floor"):
        assert "error" not in decoder[peer], decoder[peer]
        assert decoder[peer]["text_ok"] is True
        assert decoder[peer]["events"] == report["scenarios"]["decoder"]["params"]["events"] + 5
        assert decoder[peer]["events_per_s"] > 0 and decoder[peer]["mb_per_s"] > 0
    assert decoder["floor"]["ratio_to_ours"]["events_per_s"] > 0
    assert report["scenarios"]["bigevent"]["results"]["ours"]["text_ok"] is True
    names = {target["target"] for target in report["targets"]}
    assert "decoder events/s: ours / hand-written splitter + msgspec" in names


async def test_streams_over_loopback_are_checked_against_the_server_text(tmp_path: Path) -> None:
    report = await run_bench(tmp_path, "--only", "long,blocking", "--peers", "ours,floor")
    for scenario in ("long", "blocking"):
        results = report["scenarios"][scenario]["results"]
        assert set(results) == {"ours", "floor"}
        for result in results.values():
            assert "error" not in result, result
            assert result["text_ok"] is True
            assert result["completed"] == report["scenarios"][scenario]["params"]["streams"]
            assert result["cpu_s"] >= 0


async def test_the_non_loopback_scenario_reaches_the_server_on_this_machines_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from run import lan_address

    report = await run_bench(tmp_path, "--only", "blocking_lan", "--peers", "ours,floor")
    scenario = report["scenarios"]["blocking_lan"]
    if lan_address() is None:  # a machine with no route off loopback says so
        assert scenario["skipped"] == "no non-loopback address" and scenario["results"] == {}
        return
    assert set(scenario["results"]) == {"ours", "floor"}
    for result in scenario["results"].values():
        assert "error" not in result, result
        assert result["text_ok"] is True and result["completed"] == scenario["params"]["streams"]


async def test_an_unknown_scenario_is_refused_with_its_name() -> None:
    with anyio.fail_after(60):
        done = await anyio.run_process([*RUN, "--only", "nosuch"], check=False, cwd=ROOT)
    assert done.returncode == 2
    assert "nosuch" in done.stderr.decode()


async def test_the_storm_benchmark_counts_the_429s_of_both_ways(tmp_path: Path) -> None:
    report = await run_bench(tmp_path, "--only", "storm")
    scenario = report["scenarios"]["storm"]
    for mode in ("ours", "independent"):
        result = scenario["results"][mode]
        assert "error" not in result, result
        assert result["completed"] == scenario["params"]["chats"] and result["text_ok"]
        assert result["requests"] == result["completed"] + result["refused_429"]
    assert scenario["results"]["independent"]["refused_429"] > 0  # the server did refuse
    names = {target["target"] for target in report["targets"]}
    assert "storm 429s sent: independent retries / gated" in names


def test_functions_counts_each_python_function_with_its_callees_once(tmp_path: Path) -> None:
    # `benchmarks/functions.py` reads callgrind's calls: a function's instructions are
    # those of its calls from other functions (its trampoline's), never its own
    # recursive entries, and addresses outside the perf map are not Python functions.
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import functions
    finally:
        sys.path.pop(0)
    perf_map = tmp_path / "perf.map"
    perf_map.write_text("1000 10 py::outer:/x.py\n2000 10 py::inner:/x.py\n")
    callgrind_out = tmp_path / "out"
    callgrind_out.write_text(
        "fn=(1) 0x0000000000001000\n"
        "cfn=(2) 0x0000000000002004\n"
        "calls=3 0\n"
        "0 700\n"
        "fn=(2)\n"
        "cfn=(2)\n"
        "calls=1 0\n"
        "0 200\n"
        "cfn=(3) 0x0000000000009000\n"
        "calls=1 0\n"
        "0 50\n"
        "fn=(4) main\n"
        "cfn=(1)\n"
        "calls=1 0\n"
        "0 1000\n"
    )
    counts = functions.inclusive(callgrind_out, functions.PerfMap(perf_map))
    assert counts == {"outer:/x.py": 1000, "inner:/x.py": 700}
