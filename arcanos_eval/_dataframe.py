"""A run log as a pandas DataFrame: one row per answer, for notebooks (:meth:`RunLog.to_pandas`).

pandas is optional (``pip install 'arcanos-eval[notebook]'``): it is imported when a frame is built,
never by ``import arcanos_eval`` or by reading a log. The rows are the log's results in the order
:attr:`RunLog.results` holds them (the latest answer per case, target and repeat); the columns, in
this order:

================== ========= ===================================================================
column             dtype     what it holds
================== ========= ===================================================================
suite              string    the suite id
case               string    the case id
category           string    the case's category (``happy_path``, ``adversarial``...)
target             string    the target that answered (``base``, ``candidate``...)
repeat             int64     the repeat number, from 0
passed             bool      every check passed and the call did not error (as the report counts
                             an answer; a case's repeats are then reduced by its reducer)
errored            bool      the call failed after its retries: no answer
origin             string    ``live``, ``replayed`` or ``cached``
latency_ms         float64   the call's latency; NaN when none was measured (errored, batch)
prompt_tokens      int64     prompt tokens, as the API reported them
completion_tokens  int64     completion tokens
tokens             int64     total tokens
cost_usd           float64   the tokens at the target's prices recorded in the log's header; NaN
                             when the header has no prices for the target
answer             string    the text answer; <NA> for a tool call only, or an errored call
error              string    why the call failed; <NA> unless ``errored``
checks             object    a dict, check name -> whether every check of that name passed
================== ========= ===================================================================
"""

from __future__ import annotations

import importlib
import math
from typing import TYPE_CHECKING, Any

from arcanos_eval.errors import MissingExtraError
from arcanos_eval.stats import token_cost  # the report's own formula

if TYPE_CHECKING:
    import pandas

    from arcanos_eval.runlog import RunLog

__all__ = ["COLUMNS", "NOTEBOOK_EXTRA", "results_frame"]

NOTEBOOK_EXTRA = "notebook"

#: Every column of :func:`results_frame`, in order, with its pandas dtype.
COLUMNS: dict[str, str] = {
    "suite": "string",
    "case": "string",
    "category": "string",
    "target": "string",
    "repeat": "int64",
    "passed": "bool",
    "errored": "bool",
    "origin": "string",
    "latency_ms": "float64",
    "prompt_tokens": "int64",
    "completion_tokens": "int64",
    "tokens": "int64",
    "cost_usd": "float64",
    "answer": "string",
    "error": "string",
    "checks": "object",
}


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise MissingExtraError(
            f"RunLog.to_pandas needs pandas, which is not installed: "
            f"pip install 'arcanos-eval[{NOTEBOOK_EXTRA}]'"
        ) from None


def results_frame(log: RunLog) -> pandas.DataFrame:
    """The log's answers as a DataFrame, one row each (columns: see the module docstring).

    Raises:
        MissingExtraError: pandas is not installed; the message names the extra to install.
    """
    pd = _pandas()
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    prices = {name: info.prices for name, info in log.header.targets.items()}
    for record in log.results.values():
        response, usage = record.response, record.response.usage
        cost = token_cost(
            prices.get(record.target, {}), usage.prompt_tokens, usage.completion_tokens
        )
        checks: dict[str, bool] = {}
        for result in record.scores:
            checks[result.check] = checks.get(result.check, True) and result.passed
        row = (
            record.suite_id,
            record.case_id,
            record.category,
            record.target,
            record.repeat,
            record.passed,
            record.errored,
            response.origin,
            math.nan if response.latency_ms is None else response.latency_ms,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens,
            math.nan if cost is None else cost,
            response.text,
            response.error,
            checks,
        )
        for values, value in zip(columns.values(), row, strict=True):
            values.append(value)
    return pd.DataFrame(
        {name: pd.Series(columns[name], dtype=dtype) for name, dtype in COLUMNS.items()}
    )
