"""Schema contracts: is a new response schema backward compatible for consumers of outputs?

::

    from arcanos_eval.contracts import compat, load_schema

    result = compat(load_schema("schemas/reply.v1.json"), load_schema("schemas/reply.v2.json"))
    if result.breaking:
        for finding in result.breaking_findings:
            print(finding.path, finding.kind, finding.reason, finding.counterexample)

The command line has the same check as ``arcanos-eval schema diff OLD NEW``
(:mod:`arcanos_eval.contracts.cli`).
"""

from __future__ import annotations

from arcanos_eval.contracts._compat import compat
from arcanos_eval.contracts._model import Compatibility, Finding
from arcanos_eval.contracts._schema import ContractError, load_schema

__all__ = ["Compatibility", "ContractError", "Finding", "compat", "load_schema"]
