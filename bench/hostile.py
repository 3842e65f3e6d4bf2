"""Hostile-input run: mutated suites through the loader, hostile answers through a real run.

Two parts, both on the real front-ends:

* **Suites.** ``--n`` suites (2,000 by default) mutated from the bundled ones in ``suites/``, each
  fault kind a fixed share (``KINDS``): byte flips, type swaps, deletions, deep nesting, YAML alias
  bombs and recursive aliases, 10 MB strings, ids and keys, 5,000-digit integers, control and
  lone-surrogate characters, duplicate keys, NaN/inf budgets, path escapes in ``response_schema``
  and ``system_prompt`` (``../../etc/passwd``, ``/etc/shadow``, symlinks out of the project), FIFOs
  and device symlinks as suite files, catastrophic and huge regex patterns. Each is written into a
  fresh project folder and checked by ``arcanos-eval validate`` (its ``main``, in a worker process
  under a time limit and an address-space limit). Outcomes: loaded OK, clean error (exit 2, one
  ``arcanos-eval: error:`` line per problem, the first naming the file, each at most 2,000
  characters), unclear error (exit 2 otherwise), traceback (an
  exception out of ``main`` or an exit status that is neither), crash (the worker died), hang (time
  limit), memory (``MemoryError``); flags: leak (a line of ``/etc/passwd`` or ``/etc/shadow`` or
  the canary of a file outside the project in the output), escape (a regular file outside the
  project was opened, seen by an audit hook), accepted (loaded OK although it must be refused).
* **Server.** ``arcanos-eval run`` then ``arcanos-eval report`` in child processes against the
  loopback OpenAI server (``arcanos_eval.testing``) answering every call with one hostile shape
  (``scenarios()``: content as number, object, list, bool or null, non-JSON bodies, an error inside a
  stream, a 401 echoing the key, 5 MB answers, NaN, slow answers, a catastrophic regex, ...).
  Counted: tracebacks in the output, hangs (and whether Ctrl-C then stops the run), lost cases
  (planned case x target missing from the run log), leaked secrets (the fake key in any file of
  the project or in the output), outside content (canary or system file lines in the output, the
  project's files or the requests the server received), run-log lines that are not strict JSON.

    python bench/hostile.py                  # both parts, 2,009 suites: 17 minutes on main
    python bench/hostile.py --quick          # 3 suites per kind, 2 cases per run: 5 minutes
    python bench/hostile.py --only suites --n 500 --kind alias_bomb --kind regex

The tables go to stdout, the figures to ``--json PATH``. Adding a fault kind is one entry in
``KINDS``; adding a server answer shape is one line in ``scenarios()``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import math
import os
import platform
import queue
import random
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from arcanos_eval.testing import Fault, OpenAIServer, Reply

ROOT = Path(__file__).resolve().parents[1]
SUITES = ROOT / "suites"
MAX_LINE = 2000  # a longer error line did not cut the value it quotes
CANARY = "ARCANOS-OUTSIDE-CANARY-5f1c0d"  # in every file outside the project
KEY = "sk-proj-HOSTILE" + "7Qx2Lm9Vb4Nc8Zr1Tk6Wd3Hf5Jp0Gs7Ya2Ue9Oi4"  # the fake API key
KEY_TAIL = KEY[-16:]  # no masking keeps the end of a key
KEY_ENV = "ARCANOS_HOSTILE_KEY"
MARK = "ZZMARK{}ZZ"  # placeholder in a rendered document, replaced by the hostile text
MB = 1024 * 1024
RESULT = "@@RESULT "  # prefix of a worker's answer line on its stdout

# ============================================================================ the suite corpus


@dataclass(frozen=True)
class Base:
    """A bundled suite in one format: the mutations start from it."""

    name: str  # file stem, e.g. puzzle-classification
    fmt: str  # yaml | json | jsonl
    data: dict[str, Any] = field(repr=False)
    text: str = field(repr=False)  # the file as written (YAML: the bundled file, with comments)

    @property
    def file(self) -> str:
        return f"suites/{self.name}.{self.fmt}"


def render(data: Any, fmt: str) -> str:
    """A document as a suite file of format ``fmt`` (a JSONL header holds all but ``cases``)."""
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if not isinstance(data, dict):
        return json.dumps(data, ensure_ascii=False) + "\n"
    cases = data.get("cases")
    header = {k: v for k, v in data.items() if k != "cases" or not isinstance(cases, list)}
    lines = [json.dumps(header, ensure_ascii=False)]
    lines += (
        [json.dumps(case, ensure_ascii=False) for case in cases or ()]
        if isinstance(cases, list)
        else []
    )
    return "\n".join(lines) + "\n"


def corpus() -> list[Base]:
    """Every bundled suite as YAML (the file itself), JSON and JSONL."""
    bases = []
    for path in sorted(SUITES.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        bases.append(Base(path.stem, "yaml", data, text))
        for fmt in ("json", "jsonl"):
            bases.append(Base(path.stem, fmt, data, render(data, fmt)))
    return bases


# ============================================================================ document paths

JsonPath = tuple[Any, ...]


def walk(value: Any, path: JsonPath = ()) -> Iterator[JsonPath]:
    """Every path below ``value`` (not the root itself), parents first."""
    if isinstance(value, dict):
        items: Iterator[tuple[Any, Any]] = iter(value.items())
    elif isinstance(value, list):
        items = iter(enumerate(value))
    else:
        return
    for key, child in items:
        yield (*path, key)
        yield from walk(child, (*path, key))


def get(data: Any, path: JsonPath) -> Any:
    for key in path:
        data = data[key]
    return data


def put(data: Any, path: JsonPath, value: Any) -> None:
    get(data, path[:-1])[path[-1]] = value


def mappings(data: Any) -> list[JsonPath]:
    return [()] + [p for p in walk(data) if isinstance(get(data, p), dict)]


def strings(data: Any) -> list[JsonPath]:
    return [p for p in walk(data) if isinstance(get(data, p), str)]


def copy(data: Any) -> Any:
    return json.loads(json.dumps(data))


def fill(text: str, fmt: str, token: str, number: int = 0) -> str:
    """Replace the placeholder number ``number`` by ``token`` (raw text of the target format)."""
    mark = MARK.format(number)
    quoted = f'"{mark}"'
    return text.replace(quoted if fmt != "yaml" else mark, token, 1)


def case_paths(data: dict[str, Any]) -> list[JsonPath]:
    cases = data.get("cases")
    return [("cases", i) for i in range(len(cases))] if isinstance(cases, list) else []


def slot(rng: random.Random, data: dict[str, Any], named: Sequence[JsonPath]) -> JsonPath:
    """Where to put a hostile value: a named field of the suite or one of its cases, a new key of a
    random mapping, or any value of the document."""
    roll = rng.random()
    cases = case_paths(data)
    if roll < 0.6:
        path = rng.choice(named)
        if len(path) == 1:
            return path
        if path[0] == "cases" and cases:
            return (*rng.choice(cases), *path[1:])
        if path[0] != "cases":
            return path
    if roll < 0.8:
        return (*rng.choice(mappings(data)), MARK.format(9))  # a new key, any mapping
    return rng.choice(list(walk(data)))


def place(
    rng: random.Random,
    base: Base,
    named: Sequence[JsonPath],
    token: Callable[[str], str],
    *,
    as_key: bool = False,
) -> tuple[str, str]:
    """Render ``base`` with the value at a chosen slot replaced by ``token(fmt)``; returns the
    text and where it went. With ``as_key`` the hostile text is a key of a mapping."""
    data = copy(base.data)
    path = slot(rng, data, named)
    if as_key:
        holder = get(data, path[:-1]) if isinstance(get(data, path[:-1]), dict) else data
        holder[MARK.format(0)] = 1
        where = "key"
    else:
        _ensure(data, path)
        put(data, path, MARK.format(0))
        where = "/".join(map(str, path)).replace(MARK.format(9), "<new key>")
    return fill(render(data, base.fmt), base.fmt, token(base.fmt)), where


def _ensure(data: Any, path: JsonPath) -> None:
    """Create the missing mappings on ``path`` (``defaults`` of a suite that has none)."""
    node = data
    for key in path[:-1]:
        if isinstance(node, dict) and key not in node:
            node[key] = {}
        node = node[key]


# ============================================================================ samples


@dataclass
class Sample:
    """One mutated suite (or configuration) and what a correct harness must do with it."""

    kind: str
    variant: str
    file: str  # the suite file, relative to the project folder
    content: bytes | None = field(repr=False)  # None: ``special`` makes the file
    special: str | None = None  # fifo | symlink:<target> | dir
    links: tuple[tuple[str, str], ...] = ()  # extra symlinks: project path -> target
    prompt: str | None = None  # the base target's system_prompt (None: the default file)
    names: str = ""  # the file an error must name (default: the suite file's name)
    must_refuse: bool = False  # loading it without error is a fault

    @property
    def named(self) -> str:
        return self.names or Path(self.file).name


# Placeholders in a sample, replaced when its project is written: the folder outside the project.
OUTSIDE = "@@OUTSIDE@@"

# fmt: off
NAMED_FIELDS: tuple[JsonPath, ...] = (
    ("id",), ("version",), ("category",), ("description",), ("response_schema",),
    ("defaults", "latency_ms"), ("defaults", "checks"), ("cases",),
    ("cases", "id"), ("cases", "input"), ("cases", "checks"), ("cases", "tags"),
    ("cases", "metadata"), ("cases", "category"), ("cases", "latency_ms"), ("cases", "repeats"),
    ("cases", "messages"),
)
TYPE_POOL: tuple[Any, ...] = (
    0, -1, 7, 3.5, True, False, None, "", "x", "schema", [], [1, "a"], {}, {"k": 1}, [[]],
    {"contains": None}, [{"id": 1}],
)
# fmt: on


def _byte_flip(rng: random.Random, base: Base) -> Sample:
    raw = bytearray(base.text.encode())
    flips = rng.choice((1, 1, 2, 3, 8, 32))
    for _ in range(flips):
        position = rng.randrange(len(raw))
        if rng.random() < 0.8:
            raw[position] ^= 1 << rng.randrange(8)
        else:
            raw[position] = rng.randrange(256)
    return Sample("byte_flip", f"{flips} flips ({base.fmt})", base.file, bytes(raw))


def _type_swap(rng: random.Random, base: Base) -> Sample:
    data = copy(base.data)
    swaps = rng.choice((1, 1, 2, 4))
    done = []
    for _ in range(swaps):
        path = rng.choice(list(walk(data)))
        old = get(data, path)
        new = rng.choice([v for v in TYPE_POOL if type(v) is not type(old)])
        put(data, path, copy(new))
        done.append(f"{'/'.join(map(str, path))}: {type(old).__name__}->{type(new).__name__}")
    return Sample(
        "type_swap", f"{'; '.join(done)} ({base.fmt})", base.file, render(data, base.fmt).encode()
    )


def _deletion(rng: random.Random, base: Base) -> Sample:
    data = copy(base.data)
    gone = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        paths = list(walk(data))
        if not paths:
            break
        path = rng.choice(paths)
        del get(data, path[:-1])[path[-1]]
        gone.append("/".join(map(str, path)))
    return Sample(
        "deletion",
        f"deleted {', '.join(gone)} ({base.fmt})",
        base.file,
        render(data, base.fmt).encode(),
    )


def _deep_nesting(rng: random.Random, base: Base) -> Sample:
    depth = rng.choice((100_000, 10_000, 10_000, 5000, 1000, 100))
    shape = rng.choice(
        ("list", "map", "mixed", "yaml-block") if base.fmt == "yaml" else ("list", "map", "mixed")
    )
    if shape == "list":
        nest = "[" * depth + "0" + "]" * depth
    elif shape == "map":
        nest = '{"a": ' * depth + "0" + "}" * depth
    elif shape == "mixed":
        nest = '[{"a": ' * (depth // 2) + "0" + "}]" * (depth // 2)
    else:  # compact nested block sequences on one line: - - - - 0
        nest = "- " * depth + "0"
    if shape == "yaml-block":
        # A block sequence must start its own line; the whole document is the nest.
        text = nest + "\n"
        return Sample("deep_nesting", f"{shape} x{depth} as the document", base.file, text.encode())
    text, where = place(rng, base, NAMED_FIELDS, lambda fmt: nest)
    return Sample(
        "deep_nesting", f"{shape} x{depth} at {where} ({base.fmt})", base.file, text.encode()
    )


def _yaml_base(rng: random.Random, base: Base) -> Base:
    """Aliases exist only in YAML: a JSON base is rendered as YAML instead."""
    if base.fmt == "yaml":
        return base
    return Base(base.name, "yaml", base.data, render(base.data, "yaml"))


def _alias_bomb(rng: random.Random, base: Base) -> Sample:
    base = _yaml_base(rng, base)
    # One in five is a harmless use of anchors; the others expand to 6,561 to 10^20 leaves.
    # (The first choices are the worst: a fuzzer's first draws are zeros.)
    if rng.random() >= 0.8:
        width, levels = rng.choice((2, 3)), rng.choice((2, 3))
    else:
        width, levels = rng.choice((10, 9, 5, 3)), rng.choice((20, 16, 12, 10, 8))
    # One flow line: &a0 [x, x, ...], &a1 [*a0, *a0, ...], ...: width ** levels leaves.
    parts = ["&a0 [" + ", ".join(["lol"] * width) + "]"]
    parts += [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]" for n in range(1, levels)]
    bomb = "[" + ", ".join(parts) + "]"
    text, where = place(rng, base, NAMED_FIELDS, lambda fmt: bomb)
    return Sample(
        "alias_bomb", f"{width}^{levels} leaves, {len(bomb)} B at {where}", base.file, text.encode()
    )


def _recursive_alias(rng: random.Random, base: Base) -> Sample:
    base = _yaml_base(rng, base)
    loop = rng.choice(
        ("&c [*c]", "&c {k: *c}", "&c [1, [2, *c]]", "&c {a: [*c, *c]}", "&c [&d [*c, *d]]")
    )
    text, where = place(rng, base, NAMED_FIELDS, lambda fmt: loop)
    return Sample("recursive_alias", f"{loop} at {where}", base.file, text.encode())


# fmt: off
HUGE_FIELDS: tuple[JsonPath, ...] = (
    ("id",), ("description",), ("cases", "id"), ("cases", "input"), ("cases", "tags"),
    ("cases", "category"), ("cases", "checks"), ("defaults", "checks"),
)
# fmt: on


def _huge_string(rng: random.Random, base: Base) -> Sample:
    size = rng.choice((10, 10, 10, 5, 1)) * MB
    letter = rng.choice("axQ")
    value = '"' + letter * size + '"'
    target = rng.choice(("value", "value", "key", "check name", "check argument", "regex"))
    if target == "key":
        text, where = place(rng, base, NAMED_FIELDS, lambda fmt: value, as_key=True)
    elif target in ("check name", "check argument", "regex"):
        data = copy(base.data)
        cases = case_paths(data)
        case = get(data, rng.choice(cases)) if cases else data
        check: Any = {
            "check name": MARK.format(0),
            "check argument": {"contains": MARK.format(0)},
            "regex": {"regex": MARK.format(0)},
        }[target]
        case["checks"] = [check]
        text, where = fill(render(data, base.fmt), base.fmt, value), target
    else:
        text, where = place(rng, base, HUGE_FIELDS, lambda fmt: value)
    return Sample(
        "huge_string", f"{size // MB} MB at {where} ({base.fmt})", base.file, text.encode()
    )


# fmt: off
INT_FIELDS: tuple[JsonPath, ...] = (
    ("version",), ("defaults", "latency_ms"), ("cases", "latency_ms"), ("cases", "repeats"),
    ("cases", "metadata"), ("cases", "input"), ("id",),
)
# fmt: on


def _huge_int(rng: random.Random, base: Base) -> Sample:
    digits = rng.choice((4301, 5000, 5000, 20_000, 100_000))
    # The digits come from a generator seeded by one draw: a fuzzer driving ``rng`` (hypothesis)
    # then makes one choice for them, not 100,000.
    bulk = random.Random(rng.randrange(2**32))
    number = str(bulk.randrange(1, 10)) + "".join(bulk.choices("0123456789", k=digits - 1))
    sign = rng.choice(("", "", "-"))
    form = rng.choice(("int", "int", "float"))
    token = sign + (
        number if form == "int" else number[: digits // 2] + "." + number[digits // 2 :]
    )
    text, where = place(rng, base, INT_FIELDS, lambda fmt: token)
    return Sample(
        "huge_int", f"{digits}-digit {form} at {where} ({base.fmt})", base.file, text.encode()
    )


# fmt: off
CONTROL = ("\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f",
           "\u2028", "\u2029", "\ufeff", "\r")
# fmt: on


def _quoted_with(text: str, position: int, inner: str) -> str:
    """``text`` as a double-quoted JSON (and YAML) string, ``inner`` inserted raw at ``position``."""
    return json.dumps(text[:position])[:-1] + inner + json.dumps(text[position:])[1:]


def _control_chars(rng: random.Random, base: Base) -> Sample:
    char = rng.choice(CONTROL)
    style = rng.choice(("raw in a string", "raw in a string", "escaped", "raw anywhere"))
    if style == "raw anywhere":
        raw = base.text
        position = rng.randrange(len(raw))
        text = raw[:position] + char * rng.choice((1, 3)) + raw[position:]
        return Sample(
            "control_chars",
            f"U+{ord(char):04X} raw at char {position} ({base.fmt})",
            base.file,
            text.encode(),
        )
    data = copy(base.data)
    path = rng.choice(strings(data))
    value = get(data, path)
    position = rng.randrange(len(value) + 1)
    inner = char if style.startswith("raw") else json.dumps(char)[1:-1]
    put(data, path, MARK.format(0))
    text = fill(render(data, base.fmt), base.fmt, _quoted_with(value, position, inner))
    where = "/".join(map(str, path))
    return Sample(
        "control_chars",
        f"U+{ord(char):04X} {style} at {where} ({base.fmt})",
        base.file,
        text.encode("utf-8", "surrogatepass"),
    )


def _lone_surrogate(rng: random.Random, base: Base) -> Sample:
    code = rng.choice(("\\ud800", "\\udfff", "\\udc00\\ud800", "\\ud83d"))
    style = rng.choice(("escaped", "escaped", "escaped", "raw bytes"))
    data = copy(base.data)
    target = rng.choice(("string", "string", "key"))
    if target == "key":
        holder = get(data, rng.choice(mappings(data)))
        holder[MARK.format(0)] = "x"
        value, path_text = "", "a key"
    else:
        path = rng.choice(strings(data))
        value, path_text = get(data, path), "/".join(map(str, path))
        put(data, path, MARK.format(0))
    position = rng.randrange(len(value) + 1)
    text = fill(render(data, base.fmt), base.fmt, _quoted_with(value, position, code))
    if style == "raw bytes":  # the surrogate's UTF-8-style encoding: not valid UTF-8
        raw = text.encode("utf-8").replace(code.encode(), "\ud800".encode("utf-8", "surrogatepass"))
    else:
        raw = text.encode()
    return Sample("lone_surrogate", f"{code} {style} at {path_text} ({base.fmt})", base.file, raw)


def _duplicate_keys(rng: random.Random, base: Base) -> Sample:
    data = copy(base.data)
    holders = [p for p in mappings(data) if get(data, p)]
    path = rng.choice(holders)
    holder = get(data, path)
    key = rng.choice(list(holder))
    again = rng.choice(("same value", "other value"))
    holder[MARK.format(0)] = copy(holder[key] if again == "same value" else rng.choice(TYPE_POOL))
    token = key if base.fmt == "yaml" and key.isidentifier() else json.dumps(key)
    text = render(data, base.fmt)
    text = text.replace(MARK.format(0) if base.fmt == "yaml" else f'"{MARK.format(0)}"', token, 1)
    where = "/".join(map(str, (*path, key))) or key
    return Sample(
        "duplicate_keys",
        f"{where} twice, {again} ({base.fmt})",
        base.file,
        text.encode(),
        must_refuse=True,
    )


NONFINITE = {
    "yaml": (".nan", ".NaN", ".inf", "-.inf", ".Inf", "1.0e+999"),
    "json": ("NaN", "Infinity", "-Infinity", "1e999", "-1e999"),
}
BUDGETS: tuple[tuple[str, Any], ...] = (
    ("defaults.latency_ms", ("defaults", "latency_ms")),
    ("case latency_ms", ("cases", "latency_ms")),
    ("latency_ms check", {"latency_ms": MARK.format(0)}),
    ("max_tokens check", {"max_tokens": MARK.format(0)}),
    ("cost check", {"cost": {"max_usd": MARK.format(0)}}),
)


def _nonfinite_budget(rng: random.Random, base: Base) -> Sample:
    token = rng.choice(NONFINITE["yaml" if base.fmt == "yaml" else "json"])
    name, where = rng.choice(BUDGETS)
    data = copy(base.data)
    cases = case_paths(data)
    if isinstance(where, tuple):
        path = (*rng.choice(cases), *where[1:]) if where[0] == "cases" else where
        _ensure(data, path)
        put(data, path, MARK.format(0))
    else:
        case = get(data, rng.choice(cases))
        case["checks"] = [*case.get("checks", []), where]
    text = fill(render(data, base.fmt), base.fmt, token)
    # 1e999 is read as inf by both parsers, so every token is a non-finite budget.
    return Sample(
        "nonfinite_budget",
        f"{token} as {name} ({base.fmt})",
        base.file,
        text.encode(),
        must_refuse=True,
    )


# response_schema values that leave the project: (value, links to create, must it be refused)
SCHEMA_ESCAPES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("../../../../../../../../etc/passwd", ()),
    ("/etc/passwd", ()),
    ("/etc/shadow", ()),
    ("../../outside/secret.json", ()),
    ("../../outside/notes.txt", ()),
    (OUTSIDE + "/secret.json", ()),
    ("schemas/linked.json", (("suites/schemas/linked.json", OUTSIDE + "/secret.json"),)),
    ("schemas/passwd.json", (("suites/schemas/passwd.json", "/etc/passwd"),)),
    ("schemas/ext/secret.json", (("suites/schemas/ext", OUTSIDE),)),
)


def _path_escape(rng: random.Random, base: Base) -> Sample:
    choice = rng.randrange(len(SCHEMA_ESCAPES) + 2)
    if choice == len(SCHEMA_ESCAPES):  # the suite file itself is a symlink out of the project
        target = rng.choice((OUTSIDE + "/suite.yaml", "/etc/passwd"))
        return Sample(
            "path_escape",
            f"suite file -> {target}",
            "suites/linked.yaml",
            None,
            special=f"symlink:{target}",
            must_refuse=True,
        )
    if choice == len(SCHEMA_ESCAPES) + 1:  # a remote $ref: must stay unfetched, loading is fine
        data = copy(base.data)
        data["response_schema"] = {
            "$ref": rng.choice(("file:///etc/passwd", "http://127.0.0.1:9/schema.json"))
        }
        return Sample(
            "path_escape",
            f"$ref {data['response_schema']['$ref']} ({base.fmt})",
            base.file,
            render(data, base.fmt).encode(),
        )
    value, links = SCHEMA_ESCAPES[choice]
    data = copy(base.data)
    data["response_schema"] = value
    return Sample(
        "path_escape",
        f"response_schema: {value.replace(OUTSIDE, '<outside>')} ({base.fmt})",
        base.file,
        render(data, base.fmt).encode(),
        links=links,
        must_refuse=True,
    )


# system_prompt values of the base target that leave the project, and the links they need
PROMPT_ESCAPES: tuple[tuple[str, tuple[tuple[str, str], ...], bool], ...] = (
    ("../outside/prompt.md", (), True),
    (OUTSIDE + "/prompt.md", (), True),
    ("prompts/linked.md", (("prompts/linked.md", OUTSIDE + "/prompt.md"),), True),
    ("prompts/passwd.md", (("prompts/passwd.md", "/etc/passwd"),), True),
    ("prompts/ext/prompt.md", (("prompts/ext", OUTSIDE),), True),
    ("../../../../../../etc/passwd", (), False),  # no prompt suffix: inline text, never read
)


def _prompt_escape(rng: random.Random, base: Base) -> Sample:
    value, links, refuse = rng.choice(PROMPT_ESCAPES)
    shown = value.replace(OUTSIDE, "<outside>")
    return Sample(
        "prompt_escape",
        f"system_prompt: {shown}",
        base.file,
        base.text.encode(),
        links=links,
        prompt=value,
        names="pyproject.toml",
        must_refuse=refuse,
    )


SPECIAL_FILES = (
    ("fifo", "fifo", True),
    ("symlink:/dev/zero", "-> /dev/zero", True),
    ("symlink:/dev/urandom", "-> /dev/urandom", True),
    ("symlink:/dev/null", "-> /dev/null", True),
    ("loop", "a symlink to itself", False),
    ("dir", "a folder named like a suite", False),
)


def _special_file(rng: random.Random, base: Base) -> Sample:
    special, shown, refuse = rng.choice(SPECIAL_FILES)
    file = f"suites/{base.name}.{rng.choice(('yaml', 'json', 'jsonl'))}"
    return Sample(
        "special_file", f"suite file is {shown}", file, None, special=special, must_refuse=refuse
    )


# fmt: off
REGEXES = (
    "(a+)+$", "(a|aa)+$", "(.*a){25}", "^(\\w+\\s?)*$", "(x+x+)+y", "((a+)+)+b",
    "(", "[z-a]", "a{99999999999}", "(?P<x>a)(?P<x>b)", "\\", "(?<=a+)b", "a**",
    "(?:a{1000}){1000}", "(a)" * 2000,
)
# fmt: on


def _regex(rng: random.Random, base: Base) -> Sample:
    data = copy(base.data)
    cases = case_paths(data)
    case = get(data, rng.choice(cases))
    if rng.random() < 0.1:  # 10 MB of pattern
        unit = rng.choice(("a", "(a)", "[ab]+"))
        pattern = unit * ((rng.choice((1, 10)) * MB) // len(unit))
        shown = f"{len(pattern) // MB} MB pattern"
    else:
        pattern = rng.choice(REGEXES)
        shown = pattern if len(pattern) < 40 else f"{pattern[:20]}... ({len(pattern)} chars)"
    check = rng.choice(
        (
            {"regex": pattern},
            {"regex": {"pattern": pattern, "flags": "i"}},
            {"regex": {"pattern": pattern, "fullmatch": True}},
        )
    )
    case["checks"] = [*case.get("checks", []), check]
    return Sample("regex", f"{shown} ({base.fmt})", base.file, render(data, base.fmt).encode())


@dataclass(frozen=True)
class Kind:
    """One fault kind: how to make a sample, and its share of the run (``weight``)."""

    make: Callable[[random.Random, Base], Sample]
    weight: int
    what: str


# Cheap kinds weigh 3, the ones that cost seconds each on a harness that does not bound them
# weigh 1: at --n 2000 each of those still gets 49 samples, the others 98 or 147.
KINDS: dict[str, Kind] = {
    "byte_flip": Kind(_byte_flip, 3, "random bit flips and byte replacements"),
    "type_swap": Kind(_type_swap, 3, "a value replaced by one of another type"),
    "deletion": Kind(_deletion, 3, "keys and list items deleted"),
    "deep_nesting": Kind(_deep_nesting, 2, "lists and maps nested 100 to 100,000 levels"),
    "alias_bomb": Kind(_alias_bomb, 1, "YAML anchors of anchors: 4 to 10^20 leaves"),
    "recursive_alias": Kind(_recursive_alias, 3, "a YAML anchor inside itself"),
    "huge_string": Kind(_huge_string, 1, "1-10 MB ids, keys, inputs, check names, patterns"),
    "huge_int": Kind(_huge_int, 3, "integers and floats of 4,301 to 100,000 digits"),
    "control_chars": Kind(_control_chars, 3, "C0/C1 controls, BOM, line separators"),
    "lone_surrogate": Kind(_lone_surrogate, 3, "unpaired UTF-16 surrogates, escaped or raw"),
    "duplicate_keys": Kind(_duplicate_keys, 3, "a key twice in one mapping"),
    "nonfinite_budget": Kind(_nonfinite_budget, 3, "NaN and infinities as budgets"),
    "path_escape": Kind(_path_escape, 3, "response_schema and suite files outside the project"),
    "prompt_escape": Kind(_prompt_escape, 3, "system_prompt files outside the project"),
    "special_file": Kind(_special_file, 1, "FIFOs, devices, loops and folders as suite files"),
    "regex": Kind(_regex, 3, "catastrophic, invalid and 10 MB regex patterns"),
}


def plan(n: int, kinds: Sequence[str], quick: bool) -> list[tuple[str, int]]:
    """(kind, index within the kind) for every sample, kinds interleaved so that a partial or
    parallel run mixes them; each kind gets ``n * weight / total weight`` samples rounded up, so
    the run holds at least ``n`` (3 per kind when quick)."""
    total = sum(KINDS[k].weight for k in kinds)
    counts = {k: 3 if quick else math.ceil(n * KINDS[k].weight / total) for k in kinds}
    order: list[tuple[float, str, int]] = []
    for kind, count in counts.items():
        order += [((i + 0.5) / count, kind, i) for i in range(count)]
    return [(kind, i) for _, kind, i in sorted(order)]


def make_sample(kind: str, index: int, seed: int, bases: Sequence[Base]) -> Sample:
    """The ``index``-th sample of ``kind``: fixed by the seed, whatever else the run holds."""
    rng = random.Random(f"{seed}/{kind}/{index}")
    return KINDS[kind].make(rng, rng.choice(bases))


# ============================================================================ writing a project

PYPROJECT = """\
[tool.arcanos_eval]
suites = ["suites"]

[tool.arcanos_eval.targets.base]
model = "hostile-base"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "{env}"
system_prompt = {prompt}

[tool.arcanos_eval.targets.candidate]
model = "hostile-candidate"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "{env}"
system_prompt = "prompts/candidate.md"

[tool.arcanos_eval.targets.judge]
model = "hostile-judge"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "{env}"
scorer_only = true

# validate checks the gates as a run does: one that holds whatever the suite's categories.
[tool.arcanos_eval.gates]
pass_rate = {{ all = 0.9 }}
"""


def write_outside(outside: Path) -> None:
    """The folder beside the project: every file holds the canary, one is a valid schema."""
    outside.mkdir(parents=True, exist_ok=True)
    schema = {"type": "object", "description": CANARY}
    (outside / "secret.json").write_text(json.dumps(schema), encoding="utf-8")
    (outside / "notes.txt").write_text(f"{CANARY}: outside notes\n", encoding="utf-8")
    (outside / "prompt.md").write_text(f"You are {CANARY}.\n", encoding="utf-8")
    suite = {
        "id": "outside",
        "description": CANARY,
        "cases": [{"id": "c", "input": CANARY, "checks": ["refusal"]}],
    }
    (outside / "suite.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")


def write_project(sample: Sample, root: Path) -> Path:
    """``root/project`` for ``sample`` (and ``root/outside`` beside it); returns the project."""
    project, outside = root / "project", root / "outside"
    write_outside(outside)
    suites = project / "suites"
    shutil.copytree(SUITES / "schemas", suites / "schemas")
    (project / "prompts").mkdir()
    for name in ("base", "candidate"):
        (project / "prompts" / f"{name}.md").write_text(f"You are {name}.\n", encoding="utf-8")
    prompt = (sample.prompt or "prompts/base.md").replace(OUTSIDE, str(outside))
    (project / "pyproject.toml").write_text(
        PYPROJECT.format(env=KEY_ENV, prompt=json.dumps(prompt)), encoding="utf-8"
    )
    for link, target in sample.links:
        (project / link).parent.mkdir(parents=True, exist_ok=True)
        (project / link).symlink_to(target.replace(OUTSIDE, str(outside)))
    path = project / sample.file
    if sample.content is not None:
        path.write_bytes(sample.content.replace(OUTSIDE.encode(), str(outside).encode()))
    elif sample.special == "fifo":
        os.mkfifo(path)
    elif sample.special == "dir":
        path.mkdir()
    elif sample.special == "loop":
        path.symlink_to(path.name)
    elif sample.special and sample.special.startswith("symlink:"):
        path.symlink_to(sample.special.partition(":")[2].replace(OUTSIDE, str(outside)))
    return project


# ============================================================================ the worker


def outside_lines() -> list[str]:
    """What must never be quoted: the canary and the lines of the system's account files (without
    their trailing colons: YAML reads ``root:*:20228:0:99999:7:::`` as a key ending in ``::``)."""
    lines = [CANARY]
    for name in ("/etc/passwd", "/etc/shadow"):
        with contextlib.suppress(OSError):
            text = Path(name).read_text()
            lines += [line.rstrip(":") for line in text.splitlines() if len(line) >= 12]
    return lines


def leaked(text: str, lines: Sequence[str]) -> bool:
    return any(line in text for line in lines)


def _cut(text: str, limit: int = 300) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


class Watch:
    """Every file opened while on (a ``sys.addaudithook`` hook cannot be removed: it is switched)."""

    def __init__(self) -> None:
        self.on = False
        self.opened: list[str] = []
        sys.addaudithook(self._hook)
        here = Path(__file__).resolve().parent.parent
        import arcanos_eval

        package = Path(arcanos_eval.__file__).resolve().parent
        self.allowed = tuple(
            {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
            | {str(package), str(here / "arcanos_eval")}
        )

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.on and event == "open" and isinstance(args[0], (str, bytes)):
            self.opened.append(os.fsdecode(args[0]))

    def escapes(self, project: Path) -> list[str]:
        """Regular files opened outside the project (and outside Python and the package)."""
        inside = (os.path.realpath(project), *self.allowed)
        found = []
        for path in self.opened:
            real = os.path.realpath(path)
            if os.path.isfile(real) and not any(
                real == p or real.startswith(p + os.sep) for p in inside
            ):
                found.append(real)
        return list(dict.fromkeys(found))


def _peak_reset() -> None:
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets VmHWM, the peak resident size


def _peak_mb() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return math.nan


def probe(sample: Sample, root: Path, watch: Watch, lines: Sequence[str]) -> dict[str, Any]:
    """Write the project of ``sample`` and run ``arcanos-eval validate`` on its suite file."""
    from arcanos_eval.cli import main

    project = write_project(sample, root)
    os.chdir(project)
    out, err = io.StringIO(), io.StringIO()
    status: int | None = None
    failure: tuple[str, str] | None = None  # the type and text of an exception out of main
    watch.opened.clear()
    _peak_reset()
    started = time.perf_counter()
    watch.on = True
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["--config", "pyproject.toml", "validate", sample.file])
    except SystemExit as exc:  # argparse
        status = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:  # what a user would see as a traceback
        failure = (type(exc).__name__, _describe(exc))
    finally:
        watch.on = False
    seconds = time.perf_counter() - started
    gc.collect()  # the traceback held what filled the memory: go on with it freed
    peak = _peak_mb()
    message = err.getvalue().strip()
    text = out.getvalue() + err.getvalue()
    if failure is not None:
        message = f"{failure[0]}: {failure[1]}"
        text += message
        outcome = "memory" if failure[0] == "MemoryError" else "traceback"
    elif status == 0:
        outcome = "ok"
    elif status == 2:
        # validate shows every problem of the file, each on a line of its own; the first names it.
        shown = message.splitlines() or [""]
        clean = (
            sample.named in shown[0]
            and all(line.startswith("arcanos-eval: error: ") for line in shown)
            and max(len(line) for line in shown) <= MAX_LINE
        )
        outcome = "clean" if clean else "unclear"
    else:  # an internal error the CLI caught and reported with its own status
        outcome = "memory" if "MemoryError" in message else "traceback"
    escapes = watch.escapes(project)
    return {
        "outcome": outcome,
        "status": status,
        "message": _cut(message),
        "message_chars": len(message),
        "seconds": round(seconds, 3),
        "peak_mb": round(peak, 1),
        "leak": leaked(text, lines),
        "escape": [_cut(p, 120) for p in escapes],
        "accepted": outcome == "ok" and sample.must_refuse,
        "restart": failure is not None and failure[0] in ("MemoryError", "RecursionError"),
    }


def _describe(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # e.g. an int too long to print
        return ""


def worker(seed: int, memory_mb: int, tmp: Path) -> None:
    """Answer tasks from stdin, one JSON line each, with one JSON line on stdout."""
    import arcanos_eval.cli  # noqa: F401 - imported before the limit and the clock

    if memory_mb:
        limit = memory_mb * MB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    bases = corpus()
    watch = Watch()
    lines = outside_lines()
    channel = sys.stdout
    sys.stdout = io.StringIO()  # stray prints must not reach the answer channel
    for line in sys.stdin:
        task = json.loads(line)
        root = tmp / f"s{task['id']}"
        result: dict[str, Any] = {"id": task["id"]}
        try:
            sample = make_sample(task["kind"], task["index"], seed, bases)
            result["variant"] = sample.variant
            root.mkdir(parents=True)
            result.update(probe(sample, root, watch, lines))
        except MemoryError:  # building the sample, or after the load
            result.update(outcome="memory", message="MemoryError in the worker", restart=True)
        except Exception as exc:  # a fault of this benchmark, not of the harness
            result.update(outcome="crash", message=f"worker: {exc!r}"[:300], restart=True)
        finally:
            os.chdir(tmp)
            shutil.rmtree(root, ignore_errors=True)
        channel.write(RESULT + json.dumps(result) + "\n")
        channel.flush()
        sys.stdout = io.StringIO()
        if result.get("restart"):
            return  # a fresh worker takes the next task


class Worker:
    """A worker process under the time limit: :meth:`ask` returns ``None`` on a hang."""

    def __init__(self, seed: int, memory_mb: int, tmp: Path) -> None:
        self.args = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            "--seed",
            str(seed),
            "--memory-mb",
            str(memory_mb),
            "--tmp",
            str(tmp),
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.buffer = b""
        self.fresh = True  # started and not yet answered: its start-up is not the sample's time

    def _start(self) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            env = {**os.environ, KEY_ENV: KEY}
            self.proc = subprocess.Popen(
                self.args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
            self.buffer = b""
            self.fresh = True
        return self.proc

    def ask(self, task: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write((json.dumps(task) + "\n").encode())
        proc.stdin.flush()
        # Start-up (imports, the corpus) is not the sample's time: it is paid once per worker.
        deadline = time.monotonic() + timeout + (5.0 if self.fresh else 0.0)
        fd = proc.stdout.fileno()
        while True:
            while b"\n" in self.buffer:
                line, _, self.buffer = self.buffer.partition(b"\n")
                if line.startswith(RESULT.encode()):
                    self.fresh = False
                    answer: dict[str, Any] = json.loads(line[len(RESULT) :])
                    if answer.get("restart"):
                        self.stop()
                    return answer
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:  # the worker died
                    status = proc.wait()
                    self.proc = None
                    # SIGKILL we did not send: the kernel's out-of-memory killer.
                    outcome = "memory" if status == -signal.SIGKILL else "crash"
                    return {
                        "id": task["id"],
                        "outcome": outcome,
                        "message": f"worker exited with status {status}",
                    }
                self.buffer += chunk

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        self.buffer = b""


# ============================================================================ the suite part

OUTCOMES = ("ok", "clean", "unclear", "traceback", "crash", "hang", "memory")
FLAGS = ("leak", "escape", "accepted")


@dataclass
class KindRow:
    """The figures of one fault kind."""

    kind: str
    n: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES + FLAGS, 0))
    max_s: float = 0.0
    max_mb: float = 0.0
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, result: dict[str, Any]) -> None:
        self.n += 1
        outcome = result["outcome"]
        self.counts[outcome] += 1
        for flag in FLAGS:
            if result.get(flag):
                self.counts[flag] += 1
                self.examples.setdefault(flag, result)
        if outcome not in ("ok", "clean"):
            self.examples.setdefault(outcome, result)
        self.max_s = max(self.max_s, result.get("seconds") or 0.0)
        peak = result.get("peak_mb")
        if isinstance(peak, (int, float)) and not math.isnan(peak):
            self.max_mb = max(self.max_mb, peak)


def run_suites(args: argparse.Namespace, tmp: Path) -> list[KindRow]:
    kinds = args.kind or list(KINDS)
    tasks = queue.Queue[dict[str, Any]]()
    planned = plan(args.n, kinds, args.quick)
    for number, (kind, index) in enumerate(planned):
        tasks.put({"id": number, "kind": kind, "index": index})
    rows = {kind: KindRow(kind) for kind in kinds}
    bases = corpus()
    lock = threading.Lock()
    done = [0]
    started = time.perf_counter()

    def drive() -> None:
        worker_ = Worker(args.seed, args.memory_mb, tmp)
        try:
            while True:
                try:
                    task = tasks.get_nowait()
                except queue.Empty:
                    return
                answer = worker_.ask(task, args.timeout)
                if answer is None:
                    answer = {
                        "id": task["id"],
                        "outcome": "hang",
                        "seconds": args.timeout,
                        "message": f"no answer within {args.timeout:g} s",
                    }
                answer.setdefault("variant", _variant(task, args.seed, bases))
                with lock:
                    rows[task["kind"]].add(answer)
                    done[0] += 1
                    if done[0] % 100 == 0 or done[0] == len(planned):
                        print(
                            f"  suites: {done[0]}/{len(planned)} "
                            f"({time.perf_counter() - started:.0f} s)",
                            file=sys.stderr,
                        )
        finally:
            worker_.stop()

    threads = [threading.Thread(target=drive) for _ in range(args.jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [rows[k] for k in kinds]


def _variant(task: dict[str, Any], seed: int, bases: Sequence[Base]) -> str:
    """What a sample was, rebuilt in this process (its worker died or hung before saying)."""
    try:
        return make_sample(task["kind"], task["index"], seed, bases).variant
    except MemoryError:
        return "?"


def suite_table(rows: Sequence[KindRow]) -> str:
    headers = [
        "kind",
        "n",
        "ok",
        "clean error",
        "unclear error",
        "traceback",
        "crash",
        "hang",
        "memory",
        "leak",
        "escape",
        "accepted",
        "max s",
        "max MB",
    ]
    body = []
    total = KindRow("total")
    for row in rows:
        c = row.counts
        body.append(
            [
                row.kind,
                row.n,
                *(c[k] for k in OUTCOMES),
                *(c[k] for k in FLAGS),
                f"{row.max_s:.2f}",
                f"{row.max_mb:.0f}",
            ]
        )
        total.n += row.n
        for key in OUTCOMES + FLAGS:
            total.counts[key] += c[key]
        total.max_s, total.max_mb = max(total.max_s, row.max_s), max(total.max_mb, row.max_mb)
    c = total.counts
    body.append(
        [
            "**total**",
            total.n,
            *(c[k] for k in OUTCOMES),
            *(c[k] for k in FLAGS),
            f"{total.max_s:.2f}",
            f"{total.max_mb:.0f}",
        ]
    )
    return _markdown(headers, body)


def suite_examples(rows: Sequence[KindRow]) -> str:
    lines = []
    for row in rows:
        for what, example in row.examples.items():
            lines.append(
                f"- {row.kind} / {what}: {example.get('variant', '?')}: "
                f"{_cut(str(example.get('message', '')), 200)}"
                + (f" [opened {example['escape'][0]}]" if example.get("escape") else "")
            )
    return "\n".join(lines)


def _markdown(headers: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
    from tabulate import tabulate

    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


# ============================================================================ the server part


@dataclass(frozen=True)
class Scenario:
    """A run in which every answer (or request) is hostile in one way.

    ``every`` answers every call, ``base``/``candidate`` one target's calls, ``fault`` fails every
    request; ``server``, ``target``, ``suite`` and ``case`` override the server's knobs, the
    targets' settings, the suite's fields and every case's fields; ``project`` changes the project
    folder before the run (``(project, outside) -> None``). ``front`` runs pytest instead of the
    CLI; ``interrupt_s`` sends Ctrl-C into the run; ``then`` resumes it with other server knobs.
    """

    name: str
    what: str
    every: Any = None  # Reply
    base: Any = None
    candidate: Any = None
    fault: Any = None  # Fault
    server: Mapping[str, Any] = field(default_factory=dict)
    target: Mapping[str, Any] = field(default_factory=dict)
    suite: Mapping[str, Any] = field(default_factory=dict)
    case: Mapping[str, Any] = field(default_factory=dict)
    project: Callable[[Path, Path], None] | None = None
    mode: str = "live"
    cases: int | None = None  # None: the run's --cases
    front: str = "cli"  # cli | pytest: which front-end makes the run
    interrupt_s: float | None = None  # send Ctrl-C this long into the run
    then: Mapping[str, Any] | None = None  # resume the run with these server knobs


def _golden_file(project: Path, outside: Path) -> None:
    (project / "golden").write_text("not a folder\n", encoding="utf-8")


def _prompt_outside(project: Path, outside: Path) -> None:
    (project / "prompts" / "base.md").unlink()
    (project / "prompts" / "base.md").symlink_to(outside / "prompt.md")


def _five_mb(text: str, letter: str) -> Reply:
    """A 5 MB answer on one line (not JSON: reports show a text diff of such answers)."""
    return Reply(text=text + " " + (letter + " ") * (5 * MB // 2))


def scenarios() -> list[Scenario]:
    """Every hostile answer shape: a new one is one line here."""
    auth = f"Incorrect API key provided: {KEY}. You can find your API key at https://x/keys."
    # fmt: off
    return [
        Scenario("content_number", "message.content is 42", fault=Fault.content(42)),
        Scenario("content_object", "message.content is an object",
                 fault=Fault.content({"label": "ok"})),
        Scenario("content_list", "message.content is a list", fault=Fault.content(["ok"])),
        Scenario("content_bool", "message.content is true", fault=Fault.content(True)),
        Scenario("content_null", "message.content is null, no tool call",
                 fault=Fault.content(None)),
        Scenario("non_json_body", "200 with a body that is not JSON", fault=Fault.malformed()),
        Scenario("stream_not_json", "a stream event that is not JSON", fault=Fault.malformed(),
                 target={"stream": True}),
        Scenario("error_in_stream", "an error object inside a 200 stream",
                 fault=Fault.body({"error": {"message": "server error while streaming",
                                             "type": "server_error", "code": None}}),
                 target={"stream": True}),
        Scenario("wrong_shape_json", "200 JSON without choices", fault=Fault.body(
            {"id": "x", "object": "chat.completion", "created": 0, "choices": []})),
        Scenario("json_list_body", "200 whose body is a JSON list", fault=Fault.body([1])),
        Scenario("auth_401_echo", "401 whose message echoes the key",
                 fault=Fault.http_status(401, auth)),
        Scenario("auth_403_echo", "403 whose message echoes the key",
                 fault=Fault.http_status(403, auth)),
        Scenario("answer_5mb", "5 MB one-line answers, the candidate regressing", cases=2,
                 base=_five_mb("ok", "a"), candidate=_five_mb("no", "b")),
        Scenario("nan_in_answer", "answer JSON holding NaN and Infinity",
                 every=Reply(text='{"label": "ok", "score": NaN, "cap": Infinity}'),
                 case={"checks": [{"json": {"score": 1}}, {"field": {"path": "cap", "equals": 1}}]}),
        Scenario("nan_content", "message.content is NaN", fault=Fault.content(math.nan)),
        Scenario("slow_answer", "3 s answers, 1 s timeout", server={"latency_s": 3.0},
                 target={"timeout_s": 1, "max_retries": 1}),
        Scenario("slow_stream", "a word every 0.3 s", every=Reply(text="ok " * 8),
                 server={"chunk_delay_s": 0.3}, target={"stream": True}),
        Scenario("regex_catastrophic", "regex (a+)+$ on 41 a's and a !",
                 every=Reply(text="a" * 41 + "!"), case={"checks": [{"regex": "(a+)+$"}]}),
        Scenario("surrogate_input", "a case input holding a lone surrogate",
                 case={"input": "question \ud800 here"}),
        Scenario("golden_is_file", "golden is a file, mode auto", project=_golden_file,
                 mode="auto"),
        Scenario("schema_outside", "response_schema outside the project, structured outputs",
                 suite={"response_schema": "../../outside/secret.json"},
                 target={"structured_outputs": True}),
        Scenario("schema_shadow", "response_schema: /etc/shadow, structured outputs",
                 suite={"response_schema": "/etc/shadow"}, target={"structured_outputs": True}),
        Scenario("prompt_outside", "system_prompt a symlink out of the project",
                 project=_prompt_outside),
        Scenario("ctrl_c_then_resume", "Ctrl-C 3 s into 20 s answers, then --resume",
                 server={"latency_s": 20.0}, interrupt_s=3.0, then={"latency_s": 0.0}),
        Scenario("pytest_errored_call", "pytest: 200 bodies that are not JSON",
                 fault=Fault.malformed(), front="pytest"),
        Scenario("pytest_auth_401_echo", "pytest: a 401 echoing the key",
                 fault=Fault.http_status(401, auth), front="pytest"),
    ]
    # fmt: on


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


SERVER_PYPROJECT = """\
[tool.arcanos_eval]
suites = ["suites"]
golden = "golden"
cache = false
concurrency = 8
max_retries = 2

[tool.arcanos_eval.gates]
pass_rate = {{ happy_path = 0.5 }}
max_regression = 0.0
"""


def write_server_project(scenario: Scenario, root: Path, base_url: str, cases: int) -> Path:
    project, outside = root / "project", root / "outside"
    write_outside(outside)
    (project / "suites").mkdir(parents=True)
    (project / "prompts").mkdir()
    text = SERVER_PYPROJECT.format()
    for name in ("base", "candidate"):
        (project / "prompts" / f"{name}.md").write_text(f"You are {name}.\n", encoding="utf-8")
        settings = {
            "model": f"hostile-{name}",
            "base_url": base_url,
            "api_key_env": KEY_ENV,
            "system_prompt": f"prompts/{name}.md",
            "timeout_s": 10,
            "check_model": False,  # the loopback server answers to any model name
            **scenario.target,
        }
        text += f"\n[tool.arcanos_eval.targets.{name}]\n"
        text += "".join(f"{k} = {_toml(v)}\n" for k, v in settings.items())
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    suite = {
        "id": "hostile",
        "version": 1,
        "category": "happy_path",
        "defaults": {"checks": [{"contains": "ok"}, {"json": {"label": "ok"}}]},
        "cases": [
            {"id": f"case-{i}", "input": f"question {i}: answer ok", **scenario.case}
            for i in range(cases)
        ],
        **scenario.suite,
    }
    # JSON: a YAML file cannot hold a lone surrogate, a JSON one can ("\ud800").
    (project / "suites" / "hostile.json").write_text(json.dumps(suite), encoding="utf-8")
    if scenario.project is not None:
        scenario.project(project, outside)
    return project


def run_command(
    command: Sequence[str], cwd: Path, timeout: float, interrupt_s: float | None = None
) -> dict[str, Any]:
    """Run a command; on the time limit (or ``interrupt_s``) send Ctrl-C, give it 2 s to stop
    (the issue's bound), then kill it."""
    env = {**os.environ, KEY_ENV: KEY}
    env.pop("GITHUB_STEP_SUMMARY", None)
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    hang, ctrl_c = False, ""
    try:
        out, err = proc.communicate(timeout=timeout if interrupt_s is None else interrupt_s)
    except subprocess.TimeoutExpired:
        hang = interrupt_s is None
        os.killpg(proc.pid, signal.SIGINT)
        sent = time.perf_counter()
        try:
            out, err = proc.communicate(timeout=2.0)
            ctrl_c = f"stopped in {time.perf_counter() - sent:.1f} s"
        except subprocess.TimeoutExpired:
            ctrl_c = "ignored"
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
    return {
        "status": proc.returncode,
        "seconds": round(time.perf_counter() - started, 2),
        "hang": hang,
        "ctrl_c": ctrl_c,
        "output": out.decode("utf-8", "replace") + err.decode("utf-8", "replace"),
    }


# pytest shows a frame as ``path.py:123: `` at the start of a line; a section per failed item.
_PYTEST_FRAME = re.compile(r"^\S+\.py:\d+: ", re.MULTILINE)
_PYTEST_SECTION = re.compile(r"^_{3,} .+ _{3,}$", re.MULTILINE)


def tracebacks_in(output: str) -> int:
    """Python tracebacks, and pytest sections showing frames of a traceback."""
    sections = _PYTEST_SECTION.split(output)[1:]
    shown = sum(1 for section in sections if _PYTEST_FRAME.search(section))
    return output.count("Traceback (most recent call last)") + shown


def _strict(line: str) -> bool:
    def reject(token: str) -> Any:
        raise ValueError(token)

    try:
        json.loads(line, parse_constant=reject)
    except ValueError:
        return False
    return True


def read_log(path: Path) -> tuple[set[tuple[str, str, str]], int]:
    """(suite, case, target) of every result line, and the lines that are not strict JSON; read
    leniently, so that a log the harness cannot read any more is still counted."""
    present: set[tuple[str, str, str]] = set()
    not_json = 0
    if not path.is_file():
        return present, not_json
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        not_json += not _strict(line)
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("type") == "result":
            present.add(
                (str(record.get("suite")), str(record.get("case")), str(record.get("target")))
            )
    return present, not_json


def files_holding(folder: Path, needles: Sequence[bytes]) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                found.append(str(path.relative_to(folder)))
    return found


def run_scenario(scenario: Scenario, root: Path, cases: int, timeout: float) -> dict[str, Any]:
    lines = outside_lines()
    replies: dict[Any, Any] = {}
    if scenario.base is not None:
        replies[("hostile-base", "*")] = scenario.base
    if scenario.candidate is not None:
        replies[("hostile-candidate", "*")] = scenario.candidate
    every = scenario.every
    knobs: dict[str, Any] = {"log_limit": 2000, "max_hang_s": 5.0, **scenario.server}
    if scenario.fault is not None:
        knobs["fault_rates"] = {scenario.fault: 1.0}
    cli = str(Path(sys.executable).with_name("arcanos-eval"))
    files = ["--log", "run.jsonl", "--report", "report.md"]
    if scenario.front == "pytest":
        first = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
                 "-p", "no:randomly", "-o", "addopts=", "--arcanos-suite", "suites",
                 "--arcanos-mode", scenario.mode, "--arcanos-log", "run.jsonl",
                 "--arcanos-report", "report.md"]  # fmt: skip
    else:
        first = [cli, "run", "-q", "--mode", scenario.mode, *files, "--json", "summary.json"]
    count = scenario.cases or cases
    responder = (lambda request: every) if every is not None else None
    with OpenAIServer(replies=replies, responder=responder, **knobs) as server:
        project = write_server_project(scenario, root, server.base_url, count)
        run = run_command(first, project, timeout, scenario.interrupt_s)
        runs = [run]
        if scenario.then is not None:
            for knob, value in scenario.then.items():
                setattr(server, knob, value)
            resume = [cli, "run", "-q", "--mode", scenario.mode, "--resume", "run.jsonl"]
            runs.append(run_command([*resume, "--report", "report.md"], project, timeout))
        if (project / "run.jsonl").is_file():
            report = [cli, "report", "run.jsonl", "-o", "again.md", "--json", "again.json"]
            runs.append(run_command(report, project, timeout))
        requests = server.total_requests
        bodies = "\n".join(json.dumps(r.body) for r in server.requests if r.body is not None)
    present, not_json = read_log(project / "run.jsonl")
    output = "".join(r["output"] for r in runs)
    # A run refused before its first call (one clean line, exit 2) planned nothing to lose.
    refused = run["status"] == 2 and run["output"].strip().count("\n") == 0
    planned = {("hostile", f"case-{i}", t) for i in range(count) for t in ("base", "candidate")}
    secret_files = files_holding(project, [KEY_TAIL.encode()])
    outside_files = files_holding(project, [line.encode() for line in lines])
    sent = leaked(bodies, lines)
    outside_output = leaked(output, lines)
    return {
        "scenario": scenario.name,
        "what": scenario.what,
        "cases": count * 2,
        "requests": requests,
        "statuses": [r["status"] for r in runs],
        "seconds": [r["seconds"] for r in runs],
        "tracebacks": tracebacks_in(output),
        # An exit status neither the CLI (130: Ctrl-C) nor pytest (0 to 5) documents is a crash.
        "odd_status": sum(r["status"] not in (0, 1, 2, 3, 4, 5, 130) for r in runs),
        "hang": sum(r["hang"] for r in runs),
        "ctrl_c": "; ".join(r["ctrl_c"] for r in runs if r["ctrl_c"]),
        "lost": 0 if refused else len(planned - present),
        "secret": int(KEY_TAIL in output) + len(secret_files),
        "secret_where": (["output"] if KEY_TAIL in output else []) + secret_files,
        "outside": int(outside_output) + len(outside_files) + int(sent),
        "outside_where": (["output"] if outside_output else [])
        + outside_files
        + (["sent to the server"] if sent else []),
        "log_not_json": not_json,
        "last_line": _cut(output.strip().splitlines()[-1] if output.strip() else "", 200),
    }


def run_server(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    rows = []
    chosen = [s for s in scenarios() if not args.scenario or s.name in args.scenario]
    for number, scenario in enumerate(chosen, start=1):
        root = tmp / f"server-{scenario.name}"
        root.mkdir(parents=True)
        row = run_scenario(scenario, root, args.cases, args.run_timeout)
        rows.append(row)
        print(
            f"  server: {number}/{len(chosen)} {scenario.name}: {row['seconds'][0]} s, "
            f"exit {row['statuses'][0]}",
            file=sys.stderr,
        )
        shutil.rmtree(root, ignore_errors=True)
    return rows


def server_table(rows: Sequence[dict[str, Any]]) -> str:
    headers = ["scenario", "calls", "requests", "exit", "seconds", "traceback", "odd exit",
               "hang", "Ctrl-C", "lost", "secret", "outside", "log not JSON"]  # fmt: skip
    body = [
        [r["scenario"], r["cases"], r["requests"], " / ".join(map(str, r["statuses"])),
         " / ".join(f"{s:.1f}" for s in r["seconds"]), r["tracebacks"], r["odd_status"],
         r["hang"], r["ctrl_c"], r["lost"], r["secret"], r["outside"], r["log_not_json"]]
        for r in rows
    ]  # fmt: skip
    keys = ("tracebacks", "odd_status", "hang", "lost", "secret", "outside", "log_not_json")
    totals = {k: sum(r[k] for r in rows) for k in keys}
    body.append(["**total**", sum(r["cases"] for r in rows), sum(r["requests"] for r in rows),
                 "", "", totals["tracebacks"], totals["odd_status"], totals["hang"], "",
                 totals["lost"], totals["secret"], totals["outside"], totals["log_not_json"]])  # fmt: skip
    return _markdown(headers, body)


def server_details(rows: Sequence[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        where = r["secret_where"] + r["outside_where"]
        lines.append(
            f"- {r['scenario']} ({r['what']}): {r['last_line']}"
            + (f" [found in: {', '.join(where)}]" if where else "")
        )
    return "\n".join(lines)


# ============================================================================ main


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="mutated suites (default 2000)")
    parser.add_argument("--seed", type=int, default=18, help="fixes every sample (default 18)")
    parser.add_argument(
        "--quick", action="store_true", help="3 suites per kind, 2 cases per scenario"
    )
    parser.add_argument("--only", choices=("suites", "server"), help="one part only")
    parser.add_argument("--kind", action="append", choices=sorted(KINDS), help="kinds to run")
    parser.add_argument("--scenario", action="append", help="server scenarios to run")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="time limit per suite, seconds (default 10)"
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=1024,
        help="address-space limit of a worker, MB (default 1024)",
    )
    parser.add_argument("--cases", type=int, help="cases per scenario (default 6, quick 2)")
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=60.0,
        help="time limit per run and report, seconds (default 60)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.seed, args.memory_mb, args.tmp)
        return 0
    args.cases = args.cases or (2 if args.quick else 6)
    data: dict[str, Any] = {"machine": machine(), "seed": args.seed, "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="arcanos-hostile-") as folder:
        tmp = Path(folder)
        if args.only in (None, "suites"):
            started = time.perf_counter()
            rows = run_suites(args, tmp)
            seconds = time.perf_counter() - started
            print(
                f"## Mutated suites ({sum(r.n for r in rows)}, seed {args.seed}, {seconds:.0f} s)\n"
            )
            print(suite_table(rows))
            print("\nOne example per kind and outcome:\n")
            print(suite_examples(rows))
            data["suites"] = {
                "seconds": round(seconds, 1),
                "timeout_s": args.timeout,
                "memory_mb": args.memory_mb,
                "kinds": [
                    {
                        **asdict(replace(r, examples={})),
                        "what": KINDS[r.kind].what,
                        "examples": r.examples,
                    }
                    for r in rows
                ],
            }
        if args.only in (None, "server"):
            started = time.perf_counter()
            server_rows = run_server(args, tmp)
            seconds = time.perf_counter() - started
            print(f"\n## Hostile answers ({len(server_rows)} runs, {seconds:.0f} s)\n")
            print(server_table(server_rows))
            print("\nexit and seconds: the run [/ the resumed run] / `arcanos-eval report`.\n")
            print(server_details(server_rows))
            data["server"] = {"seconds": round(seconds, 1), "runs": server_rows}
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
