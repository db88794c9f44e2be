"""Workflow Builder custom steps on the fake Slack: `function_executed` and its completion.

Strict where Slack's documentation is: a step is completed once, with the
`function_execution_id` Slack sent, by `functions.completeSuccess` (an `outputs` object whose
names are the step's declared outputs, every required one present) or
`functions.completeError` (a non-empty `error` string). The declared steps are read from
app_manifest.yml, as Slack reads them.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bot.testing.slack_rules import Json, SlackError

MANIFEST = Path(__file__).resolve().parents[2] / "app_manifest.yml"
_executions = itertools.count(1)


def declared_functions(path: Path = MANIFEST) -> dict[str, Json]:
    """Return the `functions` of the app manifest, by callback id."""
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")).get("functions") or {})


class FunctionsMixin:
    """`function_executed` events to deliver, and the two methods that end a step."""

    def _init_functions(self) -> None:
        self.functions = declared_functions()
        self.executions: dict[str, Json] = {}  # id -> {"callback_id", "outcome", ...}

    def function_methods(self) -> dict[str, Callable[[Json], Json]]:
        """Return the methods this mixin implements, by name."""
        return {
            "functions.completeSuccess": self._complete_success,
            "functions.completeError": self._complete_error,
        }

    def function_executed(self, callback_id: str, inputs: Json, **extra: Any) -> Json:
        """Start a run of a declared step; return the `function_executed` event to deliver."""
        function = self.functions.get(callback_id)
        if function is None:
            raise AssertionError(f"the manifest declares no function {callback_id!r}")
        n = next(_executions)
        execution_id = f"Fx{n:010d}"
        self.executions[execution_id] = {"callback_id": callback_id, "outcome": None}
        return {
            "type": "function_executed",
            "function": {
                "id": f"Fn{n:010d}",
                "callback_id": callback_id,
                "title": function.get("title", ""),
                "description": function.get("description", ""),
                "type": "app",
                "input_parameters": _parameters(function.get("input_parameters")),
                "output_parameters": _parameters(function.get("output_parameters")),
                "app_id": "A1",
                "date_created": 1700000000,
                "date_updated": 1700000000,
                "date_deleted": 0,
            },
            "inputs": inputs,
            "function_execution_id": execution_id,
            "workflow_execution_id": f"Wx{n:010d}",
            "event_ts": f"1700000000.{n:06d}",
            "bot_access_token": f"xwfp-function-token-{n}",
            **extra,
        }

    def _execution(self, args: Json) -> Json:
        execution = self.executions.get(str(args.get("function_execution_id") or ""))
        if execution is None:
            raise SlackError("invalid_arguments", detail="function_execution_id")
        if execution["outcome"] is not None:
            raise SlackError("function_execution_already_completed")  # *unverified* name
        return execution

    def _complete_success(self, args: Json) -> Json:
        execution = self._execution(args)
        outputs = args.get("outputs")
        if isinstance(outputs, str):  # slack_sdk sends it as a JSON string in the query
            try:
                outputs = json.loads(outputs)
            except ValueError:
                raise SlackError("invalid_arguments", detail="outputs") from None
        if not isinstance(outputs, dict):
            raise SlackError("invalid_arguments", detail="outputs")
        declared = self.functions[execution["callback_id"]].get("output_parameters") or {}
        unknown = set(outputs) - set(declared)
        missing = {n for n, p in declared.items() if p.get("is_required") and n not in outputs}
        if unknown or missing:
            raise SlackError("invalid_arguments", detail=f"outputs: {unknown or missing}")
        for name, value in outputs.items():
            if declared[name].get("type") == "string" and not isinstance(value, str):
                raise SlackError("invalid_arguments", detail=f"outputs.{name}")
        execution.update(outcome="success", outputs=outputs)
        return {"ok": True}

    def _complete_error(self, args: Json) -> Json:
        execution = self._execution(args)
        error = args.get("error")
        if not isinstance(error, str) or not error.strip():
            raise SlackError("invalid_arguments", detail="error")
        execution.update(outcome="error", error=error)
        return {"ok": True}


def _parameters(declared: Json | None) -> list[Json]:
    return [{"name": name, **spec} for name, spec in (declared or {}).items()]
