"""The API reference documents what users read: a real `mkdocs build` of the docs.

Every public model and event (a msgspec Struct) and `RequestOptions` (a TypedDict) has
an entry whose table lists each of its fields or keys with a type and, for fields, the
default; `ChatStream` shows its public attributes, not its constructor; signatures show
values, not the names of constants; the guide's exception tree agrees with the classes.
"""

from __future__ import annotations

import html
import pydoc
import re
import subprocess
import sys
import typing
from pathlib import Path

import msgspec
import pytest

import pulseai_async
import pulseai_async.testing

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = [(pulseai_async, name) for name in pulseai_async.__all__] + [
    (pulseai_async.testing, name) for name in pulseai_async.testing.__all__
]
STRUCTS = [
    pytest.param(f"{module.__name__}.{name}", getattr(module, name), id=name)
    for module, name in PUBLIC
    if isinstance(getattr(module, name), type) and issubclass(getattr(module, name), msgspec.Struct)
]


# One build serves the whole module; under xdist (`--dist loadgroup`) one worker runs it.
pytestmark = [pytest.mark.xdist_group("docs-build"), pytest.mark.single_interpreter]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every built reference page's HTML, by path."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stderr
    return {
        str(page.relative_to(out)): page.read_text(encoding="utf-8")
        for page in (out / "reference").glob("**/*.html")
    }


def entry(site: dict[str, str], path: str) -> str:
    """The HTML of one object's entry, up to the next top-level object's heading."""
    found = [page for page in site.values() if f'id="{path}"' in page]
    assert found, f"{path} is public but has no entry in the API reference"
    page = found[0]
    start = page.index(f'id="{path}"')
    module = path.rsplit(".", 1)[0]
    following = re.compile(rf'<h\d id="{re.escape(module)}\.[A-Za-z_]+" ')
    end = following.search(page, start + 1)
    return page[start : end.start() if end else len(page)]


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def table(section: str, title: str) -> dict[str, list[str]]:
    """A docstring table's rows: name -> the other cells' text."""
    start = section.find(f'<span class="doc-section-title">{title}</span>')
    if start < 0:
        return {}
    body = section[start : section.index("</table>", start)]
    rows = {}
    for row in re.findall(r'<tr class="doc-section-item">(.*?)</tr>', body, re.S):
        name, *cells = [text(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        rows[name] = cells
    return rows


def expected_default(field: msgspec.structs.FieldInfo) -> str:
    if field.default is not msgspec.NODEFAULT:
        return repr(field.default)
    if field.default_factory is not msgspec.NODEFAULT:
        return repr(field.default_factory())
    return "required"


@pytest.mark.parametrize(("path", "cls"), STRUCTS)
def test_every_public_model_lists_its_fields_with_types_and_defaults(
    site: dict[str, str], path: str, cls: type[msgspec.Struct]
) -> None:
    rows = table(entry(site, path), "Fields:")
    fields = msgspec.structs.fields(cls)
    assert list(rows) == [field.name for field in fields], f"{path}: fields on its page"
    for field in fields:
        type_, _description, default = rows[field.name]
        assert type_, f"{path}.{field.name} has no type"
        assert default == expected_default(field), f"{path}.{field.name}"


def test_the_check_covers_the_models_and_events() -> None:
    names = {param.id for param in STRUCTS}
    assert {"ChatMessage", "Usage", "MessageMetadata", "MessageEvent", "Fault"} <= names
    assert len(names) >= 60


def test_request_options_lists_its_keys(site: dict[str, str]) -> None:
    rows = table(entry(site, "pulseai_async.RequestOptions"), "Keys:")
    hints = typing.get_type_hints(pulseai_async.RequestOptions)
    assert list(rows) == list(hints)
    assert all(type_ and description for type_, description in rows.values())


def test_chat_stream_shows_its_attributes_not_its_constructor(site: dict[str, str]) -> None:
    section = entry(site, "pulseai_async.ChatStream")
    for name in ("conversation_id", "message_id", "task_id", "request_id", "usage", "text"):
        assert f'id="pulseai_async.ChatStream.{name}"' in section, name
    assert 'id="pulseai_async.ChatStream.events_received"' in section
    assert "open_response" not in section and "max_event_size" not in section


def test_signatures_show_values_and_are_formatted(site: dict[str, str]) -> None:
    pages = "".join(site.values())
    for name in ("DEFAULT_TIMEOUT", "_NOT_GIVEN", "DEFAULT_MAX_CONNECTIONS", "object at 0x"):
        assert name not in pages, name
    section = entry(site, "pulseai_async.AsyncPulse")
    pre = section[section.index("<pre") : section.index("</pre>")]
    lines = html.unescape(re.sub(r"<[^>]+>", "", pre)).splitlines()
    # one parameter per line (the docs extra's formatter), none clipped past the page
    assert lines[0].strip() == "AsyncPulse(" and lines[-1].strip() == ")"
    flat = " ".join(" ".join(lines).split()).replace("( ", "(").replace(", )", ")")
    assert f"timeout: float | Timeout | None = {pulseai_async.Timeout()!r}," in flat
    assert "    max_connections: int = 1000," in lines
    assert max(map(len, lines)) <= 88


def test_help_reads_well() -> None:
    shown = pydoc.render_doc(pulseai_async.AsyncPulse, renderer=pydoc.plaintext)
    # without pydoc's margin, on one line (3.13 wraps long signatures)
    flat = " ".join(re.sub(r"^ \|", "", shown, flags=re.M).split())
    assert "object at 0x" not in shown
    assert "timeout: 'float | Timeout | None' = <unchanged>" in flat
    assert "timeout: 'float | Timeout | None' = Timeout(connect=10.0, read=300.0" in flat
    properties = flat.split("Readonly properties defined here:", 1)[1]
    for name, cls in [("chat", "Chat"), ("datasets", "Datasets"), ("files", "Files")]:
        assert re.search(rf"\b{name} {cls}: \w", properties), name


def tree_rows(guide: str) -> list[tuple[int, str, str]]:
    """The guide's exception tree: (depth, class, the rest of the line)."""
    block = guide.split("```text\nPulseError\n", 1)[1].split("```", 1)[0]
    rows = [(0, "PulseError", "")]
    for line in block.splitlines():
        match = re.match(r"^([│ ]*)[├└]── (\w+)(.*)$", line)
        if match:
            rows.append((len(match.group(1)) // 4 + 1, match.group(2), match.group(3)))
        elif rows:  # a continuation of the right-hand column
            depth, name, rest = rows[-1]
            rows[-1] = (depth, name, rest + " " + line)
    return rows


def test_the_guides_exception_tree_matches_the_classes() -> None:
    rows = tree_rows((ROOT / "docs" / "errors.md").read_text())
    assert len(rows) >= 15
    parents: list[type] = []
    for depth, name, rest in rows:
        cls = getattr(pulseai_async, name)
        del parents[depth:]
        if parents:
            assert issubclass(cls, parents[-1]), f"{name} is not a {parents[-1].__name__}"
        parents.append(cls)
        listed = re.sub(r"\(also [^)]*\)", "", rest)  # a second base, not a subclass
        for child in re.findall(r"\b[A-Z]\w+Error\b", listed):
            assert issubclass(getattr(pulseai_async, child), cls), f"{child} under {name}"
