"""Reading schema files and validating instances with ``$ref`` resolution.

A :class:`SchemaDocument` pairs a schema with its ``referencing`` registry, so the structural diff
can follow ``$ref`` and the confirmation step can validate instances (with ``format`` asserted:
for a contract, a changed format is a changed promise).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from arcanos_eval.errors import UsageError

__all__ = ["ContractError", "SchemaDocument", "load_schema"]

_YamlLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ContractError(UsageError):
    """A schema that cannot be read, parsed, checked or resolved.

    Raised by :func:`load_schema` and :func:`~arcanos_eval.contracts.compat`; a usage error, so the
    CLI exits with status 2.
    """


def load_schema(path: str | Path) -> dict[str, Any]:
    """Read a JSON Schema from a ``.json`` or ``.yaml``/``.yml`` file and check it.

    Args:
        path: the schema file. Other suffixes are read as JSON, then as YAML.

    Returns:
        The schema as a dict.

    Raises:
        ContractError: the file is missing, unparsable, not a mapping, or not a valid JSON Schema.

    Example:
        >>> schema = load_schema("suites/schemas/support_reply.v1.json")  # doctest: +SKIP
        >>> schema["required"]  # doctest: +SKIP
        ['action', 'reply', 'escalate']
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(f"{file}: schema file not found") from None
    except UnicodeDecodeError as exc:
        raise ContractError(f"{file}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ContractError(f"{file}: cannot read schema file: {exc.strerror}") from None
    suffix = file.suffix.lower()
    data: Any
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.load(text, Loader=_YamlLoader)
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                if suffix == ".json":
                    raise
                data = yaml.load(text, Loader=_YamlLoader)
    except json.JSONDecodeError as exc:
        raise ContractError(f"{file}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else str(file)
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise ContractError(f"{where}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "an empty document"
        raise ContractError(f"{file}: expected a JSON Schema object, found {kind}")
    check_schema(data, role=str(file))
    return data


def check_schema(schema: Mapping[str, Any], *, role: str) -> None:
    """Raise :class:`ContractError` unless ``schema`` is a valid schema for its declared draft."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise ContractError(f"{role}: not a valid JSON Schema at {where}: {exc.message}") from None


@dataclass(frozen=True)
class SchemaDocument:
    """A root schema with its registry: resolves ``$ref`` and validates instances.

    Args:
        schema: the root schema.
        role: how messages name it (``old schema``, a file name).
    """

    schema: Mapping[str, Any]
    role: str
    validator: Any
    resolver: Any

    @classmethod
    def build(cls, schema: Mapping[str, Any], *, role: str) -> SchemaDocument:
        """Check ``schema`` and prepare its registry and validator."""
        if not isinstance(schema, Mapping):
            raise ContractError(
                f"{role}: expected a JSON Schema object, found {type(schema).__name__}"
            )
        check_schema(schema, role=role)
        base = schema.get("$id", "")
        base = base if isinstance(base, str) else ""
        resource = Resource.from_contents(dict(schema), default_specification=DRAFT202012)
        registry: Registry[Any] = Registry().with_resource(base, resource).crawl()
        validator_cls = jsonschema.validators.validator_for(
            schema, default=jsonschema.Draft202012Validator
        )
        validator = validator_cls(
            resource.contents, registry=registry, format_checker=validator_cls.FORMAT_CHECKER
        )
        return cls(
            schema=resource.contents,
            role=role,
            validator=validator,
            resolver=registry.resolver(base_uri=base),
        )

    def lookup(self, ref: str, resolver: Any) -> tuple[Any, Any]:
        """Resolve ``ref`` from ``resolver``: the target schema and the resolver inside it."""
        try:
            resolved = resolver.lookup(ref)
        except Unresolvable as exc:
            raise ContractError(
                f"{self.role}: cannot resolve $ref {ref!r} ({exc}); only "
                "references inside the schema are followed"
            ) from None
        return resolved.contents, resolved.resolver

    def is_valid(self, instance: Any) -> bool:
        """Whether ``instance`` validates against the whole schema."""
        return bool(self.validator.is_valid(instance))

    def is_valid_at(self, schema: Any, resolver: Any, instance: Any) -> bool:
        """Whether ``instance`` validates against ``schema``, a node of this document."""
        return bool(self.validator.evolve(schema=schema, _resolver=resolver).is_valid(instance))

    def first_error_at(self, schema: Any, resolver: Any, instance: Any) -> str:
        """The message of the most relevant error of ``instance`` against a node."""
        node = self.validator.evolve(schema=schema, _resolver=resolver)
        error = jsonschema.exceptions.best_match(node.iter_errors(instance))
        return error.message if error is not None else "valid"

    def errors(self, instance: Any) -> Iterator[ValidationError]:
        """Every error of ``instance``, including those inside ``anyOf``/``oneOf`` branches."""
        stack = list(self.validator.iter_errors(instance))
        while stack:
            error = stack.pop()
            yield error
            stack.extend(error.context or ())
