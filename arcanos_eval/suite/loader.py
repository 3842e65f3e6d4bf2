"""Read suite files (YAML, JSON, JSONL) into :class:`Suite` values, or fail with a one-line error.

Every document is validated against the suite JSON Schema shipped beside this module
(``suite.schema.json``); the first problem in document order becomes a :class:`SuiteError` naming
file, line, case and field, what was expected and what was found.

JSONL suites: the first non-blank line is the suite header (every suite field except ``cases``), and
each further line is one case.
"""

from __future__ import annotations

import heapq
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import jsonschema
import referencing.exceptions
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from arcanos_eval._bounded import DocumentError, check_json_lines, load_json, read_text
from arcanos_eval._bounded_yaml import load_yaml
from arcanos_eval._fastcheck import IsValid, compile_is_valid
from arcanos_eval._gc import bulk_work
from arcanos_eval._paths import ProjectRoots, shown
from arcanos_eval._schema_errors import JsonPath, SchemaProblem, first_error, schema_problem
from arcanos_eval._schema_errors import describe_value as _describe
from arcanos_eval._schema_errors import field_name as _field_name
from arcanos_eval.errors import DuplicateCaseError, SuiteError, UnknownCheckError
from arcanos_eval.model import Case, Check, Suite
from arcanos_eval.scorers._registry import bind_check
from arcanos_eval.strategies import expand_generated_cases

__all__ = [
    "MAX_SUITE_BYTES",
    "SUITE_SCHEMA_PATH",
    "collect_suites",
    "discover_suite_files",
    "load_suite",
    "load_suites",
    "read_suite_document",
]

SUITE_SCHEMA_PATH = Path(__file__).with_name("suite.schema.json")
SUITE_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")


@cache
def _suite_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SUITE_SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@cache
def _suite_validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(_suite_schema())


@cache
def _suite_is_valid() -> IsValid | None:
    """The compiled yes/no check of the suite schema, or ``None`` if the schema uses a keyword
    the compiler does not implement (then jsonschema judges every document)."""
    try:
        return compile_is_valid(_suite_schema())
    except NotImplementedError:
        return None


# ----------------------------------------------------------------------------- reading documents

# One suite file: a 10,000-case suite is about 5 MB. Within this, loading takes under 2 s and
# 200 MB whatever the file holds (see arcanos_eval/_bounded.py).
MAX_SUITE_BYTES = 10 * 1024 * 1024


class _Document:
    """A parsed suite file and a way to find the line on which each JSON path starts."""

    def __init__(
        self, path: Path, data: Any, line_of: Callable[[Sequence[Any]], int | None]
    ) -> None:
        self.path = path
        self.data = data
        self._line_of = line_of

    def line(self, json_path: Sequence[str | int]) -> int | None:
        """The line of ``json_path``, or of its nearest ancestor with a known line."""
        return self._line_of(json_path)


def _path_lines(lines: dict[JsonPath, int]) -> Callable[[Sequence[Any]], int | None]:
    """Line lookup for the paths the JSON readers know (the document, each case)."""

    def line(json_path: Sequence[Any]) -> int | None:
        key = tuple(json_path)
        while key:
            if key in lines:
                return lines[key]
            key = key[:-1]
        return lines.get((), 1)

    return line


def _document_error(path: Path, error: DocumentError) -> SuiteError:
    """A bound or rule of ``_bounded`` broken by a suite, as a SuiteError naming case and field."""
    where: JsonPath = error.path or ()
    case_id = None
    if len(where) >= 2 and where[0] == "cases" and len(error.containers) > 2:
        case = error.containers[2]  # the open case mapping (root, cases, case)
        case_id = case.get("id") if isinstance(case, dict) else None
    # A value nested 64 deep has a path as long: the first levels say which field it is in.
    field = _field_of(where[:8])
    return SuiteError(
        error.problem,
        path=path,
        line=error.line,
        case_id=case_id if isinstance(case_id, str) else None,
        field=f"{field}…" if field and len(where) > 8 else field,
    )


def _read_yaml(path: Path, text: str) -> _Document:
    data, lines = load_yaml(text)
    return _Document(path, data, lines.line)


# `"id": "riddle-1"`, the way a case names itself in a JSON suite.
_JSON_ID = re.compile(r'"id"\s*:\s*("(?:[^"\\]|\\.){0,400}")')


def _read_json(path: Path, text: str) -> _Document:
    data = load_json(text)
    lines: dict[JsonPath, int] = {(): 1}
    # The json module keeps no positions; find each case's `"id": "..."` in order, which is
    # enough to point an editor at the right case.
    cases = data.get("cases") if isinstance(data, dict) else None
    if isinstance(cases, list):
        wanted = (
            (index, case["id"])
            for index, case in enumerate(cases)
            if isinstance(case, dict) and isinstance(case.get("id"), str)
        )
        want = next(wanted, None)
        line, counted = 1, 0
        for found in _JSON_ID.finditer(text):
            if want is None:
                break
            if json.loads(found.group(1)) != want[1]:
                continue
            line += text.count("\n", counted, found.start())
            counted = found.start()
            lines[("cases", want[0])] = line
            want = next(wanted, None)
    return _Document(path, data, _path_lines(lines))


def _read_jsonl(path: Path, text: str) -> _Document:
    header: dict[str, Any] | None = None
    cases: list[Any] = []
    lines: dict[JsonPath, int] = {}
    check_json_lines(text)
    # Split on newlines only: str.splitlines also splits on U+2028 and others, which JSON text
    # may hold raw.
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        # A case sits in the suite and its `cases` list: two levels of the nesting limit.
        record = load_json(raw, first_line=number, depth=0 if header is None else 2)
        if header is None:
            if not isinstance(record, dict) or "input" in record or "messages" in record:
                raise SuiteError(
                    "expected the suite header (an object with 'id' and suite fields) on the "
                    f"first line, found {_describe(record)}",
                    path=path,
                    line=number,
                )
            if "cases" in record:
                raise SuiteError(
                    "a JSONL header must not hold 'cases': put one case per line",
                    path=path,
                    line=number,
                    field="cases",
                )
            header = record
            lines[()] = number
            continue
        lines[("cases", len(cases))] = number
        cases.append(record)
    if header is None:
        raise SuiteError(
            "empty JSONL suite: expected a header line, then one case per line", path=path, line=1
        )
    return _Document(path, {**header, "cases": cases}, _path_lines(lines))


_READERS: dict[str, Callable[[Path, str], _Document]] = {
    ".jsonl": _read_jsonl,
    ".json": _read_json,
    ".yaml": _read_yaml,
    ".yml": _read_yaml,
}


def read_suite_document(path: str | Path) -> Any:
    """The parsed document of a suite file, read within the loader's bounds but not validated
    (a JSONL suite reads as its header with the ``cases`` of its further lines).

    Raises:
        SuiteError: the file cannot be read or parsed, or breaks a bound (one line, file named).
    """
    return _read(Path(path)).data


def _read(path: Path) -> _Document:
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise SuiteError(
            f"expected a .yaml, .yml, .json or .jsonl suite, found {suffix or 'no suffix'!r}",
            path=path,
        )
    try:
        text = read_text(path, limit=MAX_SUITE_BYTES)
        with bulk_work():
            return reader(path, text)
    except DocumentError as exc:
        raise _document_error(path, exc) from None


# ----------------------------------------------------------------------------- schema errors


def _field_of(path: JsonPath) -> str | None:
    """The field a JSON path points at, relative to its case when inside one."""
    if len(path) >= 3 and path[0] == "cases" and isinstance(path[1], int):
        return _field_name(path[2:])
    if path and path[0] != "cases":
        return _field_name(path)
    return None


def _schema_error(doc: _Document, error: ValidationError) -> SuiteError:
    path: JsonPath = tuple(error.absolute_path)
    instance = error.instance
    if (
        error.validator == "oneOf"
        and isinstance(instance, dict)
        and error.schema.get("oneOf", [{}])[0].get("required") == ["input"]
    ):
        both = "input" in instance and "messages" in instance
        problem = SchemaProblem(
            "expected exactly one of 'input' or 'messages', found "
            + ("both" if both else "neither"),
            path,
            path,
        )
    elif error.validator == "oneOf":
        # A one-key mapping is a check in the right shape: what failed is inside its arguments
        # (a `regex:` pattern too long), said by the mapping branch's own error.
        inside = [
            e
            for e in error.context or ()
            if e.schema_path and e.schema_path[0] == 1 and len(e.absolute_path) > len(path)
        ]
        if isinstance(instance, dict) and len(instance) == 1 and inside:
            problem = schema_problem(first_error(inside, doc.line) or inside[0])
        else:
            problem = SchemaProblem(
                "expected a check name or a one-key mapping {name: arguments}, found "
                + _describe(instance),
                path,
                path,
            )
    else:
        problem = schema_problem(error)
    return SuiteError(
        problem.message,
        path=doc.path,
        line=doc.line(problem.path),
        case_id=_case_id_at(doc.data, path),
        field=_field_of(problem.field),
    )


def _case_id_at(data: Any, path: JsonPath) -> str | None:
    if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
        try:
            case_id = data["cases"][path[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
        return case_id if isinstance(case_id, str) else None
    return None


def _validate(doc: _Document) -> None:
    # Most documents are valid: the compiled check says so quickly. Only a document it rejects
    # goes through jsonschema, which finds the errors the message is made from.
    is_valid = _suite_is_valid()
    if is_valid is not None and is_valid(doc.data):
        return
    # Report the first problem in document order; on one line, prefer the most specific one.
    first = first_error(_suite_validator().iter_errors(doc.data), doc.line)
    if first is not None:
        raise _schema_error(doc, first)


def _schema_errors(doc: _Document, limit: int) -> list[SuiteError]:
    """Every schema problem of ``doc`` in document order, one per line (the most specific one,
    as :func:`_validate` chooses the first), at most ``limit``; one more line says the file has
    more. Only the ``limit`` first are kept while the errors stream by, so a file of a million
    bad values costs the time of one pass, not the memory of a million errors."""
    is_valid = _suite_is_valid()
    if is_valid is not None and is_valid(doc.data):
        return []

    def order(error: ValidationError) -> tuple[int, int]:
        return (doc.line(tuple(error.absolute_path)) or 0, -len(error.absolute_path))

    counted = 0

    def counting(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
        nonlocal counted
        for error in errors:
            counted += 1
            yield error

    # A few errors may share a line: keep more than ``limit`` to have ``limit`` lines.
    kept = heapq.nsmallest(
        4 * limit + 1, counting(_suite_validator().iter_errors(doc.data)), key=order
    )
    shown: dict[int, ValidationError] = {}
    for error in kept:
        shown.setdefault(order(error)[0], error)
    lines = list(shown)
    problems = [_schema_error(doc, shown[line]) for line in lines[:limit]]
    if len(lines) > limit or counted > len(kept):
        # The first line not shown; past the errors kept, the others lie on their last line or on.
        rest = lines[limit] if len(lines) > limit else order(kept[-1])[0]
        problems.append(
            SuiteError(
                f"more problems from line {rest} on, not shown: fix these and validate again",
                path=doc.path,
            )
        )
    return problems


# ----------------------------------------------------------------------------- building the model


def _load_response_schema(
    doc: _Document, value: Any, roots: ProjectRoots | None = None
) -> tuple[dict[str, Any] | None, Path | None]:
    line = doc.line(("response_schema",))
    if value is None:
        return None, None

    def error(message: str) -> SuiteError:
        return SuiteError(message, path=doc.path, line=line, field="response_schema")

    schema_path: Path | None = None
    if isinstance(value, str):
        roots = roots or _roots_of(doc)
        schema_path = doc.path.parent / value
        # Checked before the file is opened: what lies outside the project is never read, so
        # never quoted in an error nor sent to a model as a schema.
        outside = roots.outside(schema_path, value)
        if outside is not None:
            raise error(f"referenced file {outside}")
        if schema_path.exists() and not schema_path.is_file():
            raise error(f"referenced file {shown(str(schema_path))} is not a regular file")
        if not schema_path.exists():
            raise error(f"referenced file {str(schema_path)!r} not found")
        # Read and parsed within the same bounds as a suite (type, size, nesting, aliases).
        try:
            text = read_text(schema_path, limit=MAX_SUITE_BYTES)
            schema = (
                load_json(text) if schema_path.suffix.lower() == ".json" else load_yaml(text)[0]
            )
        except DocumentError as exc:
            where = f"{schema_path}:{exc.line}" if exc.line is not None else str(schema_path)
            raise error(f"referenced file {where}: {exc.problem}") from None
    else:
        schema = value
    if not isinstance(schema, dict):
        raise error(f"expected a JSON Schema object, found {_describe(schema)}")
    validator_cls = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise error(f"not a valid JSON Schema at {where}: {exc.message}") from None
    folder = (schema_path or doc.path).parent  # where a relative $ref would point
    problem = _unresolved_ref(schema, folder, lambda: roots or _roots_of(doc))
    if problem is not None:
        raise error(problem)
    return schema, schema_path


def _roots_of(doc: _Document) -> ProjectRoots:
    """The roots of the project a suite file belongs to, for a caller that named none."""
    return _roots_of_folder(doc.path.parent)


def _pointers(schema: Any) -> dict[int, str]:
    """The JSON pointer (``#/properties/a``) of every object and list in ``schema``, by identity."""
    pointers: dict[int, str] = {}
    stack: list[tuple[Any, str]] = [(schema, "#")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, (dict, list)) and id(node) not in pointers:
            pointers[id(node)] = pointer
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                step = str(key).replace("~", "~0").replace("/", "~1")
                stack.append((child, f"{pointer}/{step}"))
    return pointers


def _unresolved_ref(
    schema: dict[str, Any], folder: Path, roots: Callable[[], ProjectRoots]
) -> str | None:
    """Why a ``$ref`` of ``schema`` cannot be followed, or ``None`` when each one can.

    A response schema is used as written: its ``$ref`` are resolved inside it (JSON pointers,
    anchors, embedded ``$id``), and never by fetching a URL or reading another file (a remote
    ``$ref`` would make scoring depend on a server, and reveal the evaluation to it). A reference
    nothing inside resolves is refused here, at load time, rather than failing every answer.
    """
    try:
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    except referencing.exceptions.CannotDetermineSpecification:  # pragma: no cover - checked above
        resource = DRAFT202012.create_resource(schema)
    base = resource.id() or ""
    registry: Registry[Any] = Registry().with_resource(base, resource).crawl()
    pointers = _pointers(schema)
    stack = [(resource, registry.resolver(base_uri=base), base)]
    while stack:
        current, resolver, current_base = stack.pop()
        contents = current.contents
        ref = contents.get("$ref") if isinstance(contents, dict) else None
        if isinstance(ref, str):
            try:
                resolver.lookup(ref)
            except referencing.exceptions.Unresolvable:
                where = pointers.get(id(contents), "#")
                return _ref_problem(ref, where, urljoin(current_base, ref), folder, roots)
        for sub in current.subresources():
            sub_base = urljoin(current_base, sub.id()) if sub.id() else current_base
            stack.append((sub, resolver.in_subresource(sub), sub_base))
    return None


def _ref_problem(
    ref: str, where: str, target: str, folder: Path, roots: Callable[[], ProjectRoots]
) -> str:
    fix = "copy the referenced definition under $defs"
    if ref.startswith("#"):
        return f"$ref {shown(ref)} at {where} points to nothing in the schema"
    location = urlsplit(urldefrag(target).url)
    if location.scheme in ("", "file") and location.netloc in ("", "localhost"):
        file = folder / unquote(location.path)
        project = roots()
        if not project.contains(file):
            return (
                f"$ref {shown(ref)} at {where} points outside the project root "
                f"{project.project}; files a schema refers to are never read: {fix}"
            )
        return f"$ref {shown(ref)} at {where} refers to another file, which is never read: {fix}"
    return (
        f"$ref {shown(ref)} at {where} is not fetched: a response schema is used as written, "
        f"without network access; {fix}"
    )


def _build_checks(
    doc: _Document,
    raw: Iterable[Any],
    json_path: JsonPath,
    case_id: str | None,
    field_prefix: str,
) -> list[Check]:
    checks: list[Check] = []
    for index, item in enumerate(raw):
        name, value = (item, None) if isinstance(item, str) else next(iter(item.items()))
        try:
            spec, kwargs = bind_check(name, value)
        except (LookupError, TypeError) as exc:
            error = UnknownCheckError if isinstance(exc, LookupError) else SuiteError
            raise error(
                str(exc),
                path=doc.path,
                line=doc.line((*json_path, index)),
                case_id=case_id,
                field=f"{field_prefix}[{index}]",
            ) from None
        checks.append(Check(spec.name, kwargs))
    return checks


def _build_suite(
    doc: _Document,
    roots: ProjectRoots | None = None,
    problems: list[SuiteError] | None = None,
) -> Suite | None:
    """The suite of a schema-valid document. A problem of a case (an unknown check, a duplicate
    id...) raises, or with ``problems`` is added there and the other cases are still built;
    then ``None`` is returned when any was found."""
    data: dict[str, Any] = doc.data
    schema, schema_path = _load_response_schema(doc, data.get("response_schema"), roots)
    suite_id: str = data["id"]
    category: str = data.get("category", "happy_path")
    defaults: dict[str, Any] = data.get("defaults") or {}
    default_checks = _build_checks(
        doc, defaults.get("checks", ()), ("defaults", "checks"), None, "defaults.checks"
    )
    seen: dict[str, int | None] = {}
    cases: list[Case] = []
    found = 0
    for index, raw in enumerate(data["cases"]):
        try:
            cases.append(
                _build_case(doc, index, raw, seen, default_checks, suite_id, category, schema)
            )
        except SuiteError as exc:
            if problems is None:
                raise
            problems.append(exc)
            found += 1
    if found:
        return None
    # The suite's `generate:` block: generated variants follow their source cases.
    generated = expand_generated_cases(cases, data.get("generate"), suite_id=suite_id)
    return Suite(
        id=suite_id,
        version=str(data.get("version", "1")),
        category=category,
        cases=generated,
        description=data.get("description", ""),
        response_schema=schema,
        response_schema_path=schema_path,
        path=doc.path,
    )


def _build_case(
    doc: _Document,
    index: int,
    raw: dict[str, Any],
    seen: dict[str, int | None],
    default_checks: list[Check],
    suite_id: str,
    category: str,
    schema: dict[str, Any] | None,
) -> Case:
    data: dict[str, Any] = doc.data
    defaults: dict[str, Any] = data.get("defaults") or {}
    case_id: str = raw["id"]
    line = doc.line(("cases", index))
    if case_id in seen:
        raise DuplicateCaseError(
            f"duplicate case id (first defined on line {seen[case_id]})",
            path=doc.path,
            line=line,
            case_id=case_id,
            field="id",
        )
    seen[case_id] = line
    checks = default_checks + _build_checks(
        doc, raw.get("checks", ()), ("cases", index, "checks"), case_id, "checks"
    )
    if not checks:
        raise SuiteError(
            "expected at least one check (in the case or in defaults.checks), found none",
            path=doc.path,
            line=line,
            case_id=case_id,
            field="checks",
        )
    messages = raw.get("messages") or [{"role": "user", "content": raw.get("input", "")}]
    default_tags = tuple(defaults.get("tags", ()))
    return Case(
        id=case_id,
        suite_id=suite_id,
        category=raw.get("category", category),
        messages=tuple(messages),
        checks=tuple(checks),
        tools=tuple(raw.get("tools", ())),
        tags=tuple(dict.fromkeys((*default_tags, *raw.get("tags", ())))),
        latency_ms=raw.get("latency_ms", defaults.get("latency_ms")),
        repeats=raw.get("repeats", defaults.get("repeats", 1)),
        reduce=raw.get("reduce", defaults.get("reduce", "all")),
        metadata={**(defaults.get("metadata") or {}), **(raw.get("metadata") or {})},
        xfail=raw.get("xfail"),
        response_schema=schema,
        path=doc.path,
        line=line,
    )


# ----------------------------------------------------------------------------- public API


def load_suite(path: str | Path, *, roots: ProjectRoots | None = None) -> Suite:
    """Load and validate one suite file.

    Args:
        path: the suite file.
        roots: where the paths the suite names (``response_schema``) may lie: a configuration's
            ``RunConfig.roots``. By default, the project the file belongs to: the folder of the
            nearest pyproject.toml with a ``[tool.arcanos_eval]`` table (and its
            ``allowed_roots``), or the suite's own folder when there is none.

    Raises:
        SuiteError: the file is missing, unparsable, or breaks the suite format, or names a path
            outside ``roots``; the message names file, line, case and field.
    """
    suite = _load(Path(path), roots, None, 0)
    if suite is None:  # pragma: no cover - without a list to collect them in, problems raise
        raise SuiteError("not loaded", path=path)
    return suite


def _load(
    path: Path, roots: ProjectRoots | None, problems: list[SuiteError] | None, limit: int
) -> Suite | None:
    """:func:`load_suite`, or with ``problems`` each problem of the file added there (at most
    ``limit`` schema problems; see :func:`collect_suites`) and ``None`` returned when any was."""
    doc = _read(path)
    if not isinstance(doc.data, dict):
        raise SuiteError(
            f"expected a mapping with 'id' and 'cases', found {_describe(doc.data)}",
            path=doc.path,
            line=1,
        )
    if problems is None:
        _validate(doc)
    else:
        found = _schema_errors(doc, limit)
        if found:
            problems.extend(found)
            return None
    return _build_suite(doc, roots, problems)


def discover_suite_files(
    paths: Iterable[str | Path], *, roots: ProjectRoots | None = None
) -> list[Path]:
    """Expand folders into suite files (sorted), keeping explicitly named files as given.

    Inside a folder, hidden entries, folders named ``schemas`` and ``*.schema.json`` files are
    skipped: they hold response schemas, not suites. A file found in a folder, or named inside the
    project, is a symlink at most to a place inside ``roots`` (default: its project) or that folder:
    a link out is an error, and its target is never read. A file named outside the project is the
    caller's choice.
    """
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = (roots if roots is not None else _roots_of_folder(path)).with_allowed(path)
            for p in sorted(path.rglob("*")):
                if not _is_suite_file(p, path):
                    continue
                problem = inside.outside(p)
                if problem is not None:
                    raise SuiteError(problem, path=p)
                found.append(p)
        elif path.exists():
            project = roots if roots is not None else _roots_of_folder(path.parent)
            if Path(os.path.abspath(path)).is_relative_to(project.project):
                # Named inside the project: a symlink there is the project's content, not the
                # caller's choice, and may not lead out of it either.
                problem = project.outside(path)
                if problem is not None:
                    raise SuiteError(problem, path=path)
            found.append(path)
        else:
            raise SuiteError("no such file or folder", path=path)
    return list(dict.fromkeys(found))


def _is_suite_file(path: Path, folder: Path) -> bool:
    # Anything but a folder: a FIFO or a device named like a suite is then refused by the reader
    # (unopened) instead of skipped, so a suite folder never silently validates as empty.
    return (
        path.suffix.lower() in SUITE_SUFFIXES
        and not path.name.endswith(".schema.json")
        and not any(
            part.startswith(".") or part == "schemas" for part in path.relative_to(folder).parts
        )
        and not path.is_dir()
    )


def _roots_of_folder(folder: Path) -> ProjectRoots:
    """The roots of the project holding ``folder``, for a caller that named none."""
    from arcanos_eval.config import project_roots  # config is read only when a path needs it

    return project_roots(folder)


def load_suites(paths: Iterable[str | Path], *, roots: ProjectRoots | None = None) -> list[Suite]:
    """Load every suite under ``paths`` (files or folders) and reject duplicate suite ids;
    ``roots`` as in :func:`load_suite`.

    Raises:
        SuiteError: as :func:`load_suite`, or a suite id used by two files.
        DuplicateCaseError: two files share a suite id, so their case ids would collide.
    """
    suites: list[Suite] = []
    owners: dict[str, Path | None] = {}
    for path in discover_suite_files(paths, roots=roots):
        suite = load_suite(path, roots=roots)
        if suite.id in owners:
            raise _reused_id(suite.id, owners[suite.id], path)
        owners[suite.id] = path
        suites.append(suite)
    return suites


def collect_suites(
    paths: Iterable[str | Path], *, roots: ProjectRoots | None = None, limit: int = 50
) -> tuple[list[Suite], list[SuiteError]]:
    """Load every suite under ``paths`` that can be loaded, and gather the problems of the others
    instead of stopping at the first: what ``arcanos-eval validate`` shows at once.

    Each file is checked on its own: every schema problem (one per line, at most ``limit`` per
    file), or, in a file that has none, each case's problem (an unknown check, a duplicate id);
    a problem of the file as a whole (unreadable, unparsable, a response schema out of the
    project) is its one problem. A path that names nothing, and a suite id used twice, are
    problems too. ``roots`` as in :func:`load_suite`.
    """
    suites: list[Suite] = []
    problems: list[SuiteError] = []
    owners: dict[str, Path | None] = {}
    files: list[Path] = []
    for given in paths:
        try:
            files.extend(discover_suite_files([given], roots=roots))
        except SuiteError as exc:
            problems.append(exc)
    for path in dict.fromkeys(files):
        try:
            suite = _load(path, roots, problems, limit)
        except SuiteError as exc:
            problems.append(exc)
            continue
        if suite is None:
            continue
        if suite.id in owners:
            problems.append(_reused_id(suite.id, owners[suite.id], path))
            continue
        owners[suite.id] = path
        suites.append(suite)
    return suites, problems


def _reused_id(suite_id: str, owner: Path | None, path: Path) -> DuplicateCaseError:
    return DuplicateCaseError(
        f"suite id {suite_id!r} is already used by {owner}; case ids of one run must be unique",
        path=path,
        line=1,
        field="id",
    )


def iter_cases(suites: Iterable[Suite]) -> Iterator[Case]:
    """Every case of ``suites`` in order."""
    for suite in suites:
        yield from suite.cases
