"""The goal schema as form fields, and a filled form as the same goal draft the TUI's chat makes.

What it is for: a front that builds a goal form (the web page's Train tab) walks :func:`goal_fields`:
one :class:`FieldSpec` per setting of :class:`openlora.agent.goal.Goal` and its nested models (success,
budget, evaluation, advisor, publish), with the schema's own description as help text, its default
and its choices. :func:`goal_data` turns the values typed into those fields back into the goal's
mapping (empty fields are left out, so the schema's defaults apply) and :func:`draft_text` writes it
as the YAML draft that ``chat.drafts.save_draft`` validates with the strict goal loader, so a form,
a request in words and a hand-written goal.yaml meet the same checks and the same error texts.
What it is not for: validating (the goal model does) or drawing fields (the fronts do).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from openlora.agent.goal import Goal, GoalError

Kind = Literal["text", "long_text", "number", "integer", "choice", "choices", "flag", "list", "mapping"]
LONG_TEXT = {"task"}
HEADER = "# Goal draft: edit, then approve. Reference: README, goal.yaml.\n"


@dataclass(frozen=True)
class FieldSpec:
    """One setting of the goal as a form field."""

    key: str  # dotted, as in goal.yaml: "budget.max_attempts", "evaluation.json"
    kind: Kind
    default: Any
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()
    group: str = ""  # the nested model's description ("" for top-level settings)
    optional_group: bool = False  # the whole group may be left out (publish)
    schema_default: Any = None  # the schema's own default (``default`` may be a front's)


def _plain(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``| None``, and whether None was allowed."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(typing.get_args(annotation))
    return annotation, False


def _kind(name: str, annotation: Any) -> tuple[Kind, tuple[str, ...]]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "choice", tuple(str(a) for a in args)
    if origin is list:
        inner = args[0] if args else str
        if typing.get_origin(inner) is Literal:
            return "choices", tuple(str(a) for a in typing.get_args(inner))
        return "list", ()
    if origin is dict:
        return "mapping", ()
    if annotation is bool:
        return "flag", ()
    if annotation is int:
        return "integer", ()
    if annotation is float:
        return "number", ()
    return ("long_text" if name in LONG_TEXT else "text"), ()


def _default(info: FieldInfo) -> Any:
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    return value.model_dump(by_alias=True) if isinstance(value, BaseModel) else value


def _spec(key: str, name: str, info: FieldInfo, group: str = "", optional_group: bool = False) -> FieldSpec:
    annotation, _ = _plain(info.annotation)
    kind, choices = _kind(name, annotation)
    default, required = _default(info), info.is_required()
    text = info.description or ""
    return FieldSpec(key, kind, default, text, required, choices, group, optional_group, default)


def goal_fields(defaults: dict[str, Any] | None = None) -> list[FieldSpec]:
    """Every setting of the goal, nested models flattened to dotted keys; ``defaults`` (by key) replace
    the schema's defaults as the values a form starts with."""
    specs: list[FieldSpec] = []
    for name, info in Goal.model_fields.items():
        annotation, optional = _plain(info.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            group = (annotation.__doc__ or name).strip().splitlines()[0]
            for sub, sub_info in annotation.model_fields.items():
                label = sub_info.alias or sub
                specs.append(_spec(f"{name}.{label}", sub, sub_info, group, optional))
        else:
            specs.append(_spec(name, name, info))
    given = defaults or {}
    return [
        FieldSpec(**{**s.__dict__, "default": given[s.key]}) if s.key in given else s  # type: ignore[arg-type]
        for s in specs
    ]


def _value(spec: FieldSpec, raw: Any) -> Any:
    """A field's value as the goal holds it; None when the field was left empty."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if spec.kind in ("text", "long_text", "choice"):
        return str(raw).strip()
    if spec.kind in ("number", "integer") and isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            return raw.strip()  # the goal model names the field and says a number is expected
    if spec.kind == "integer" and isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if spec.kind == "list":
        parts = raw if isinstance(raw, list) else str(raw).replace("\n", ",").split(",")
        items = [str(part).strip() for part in parts]
        return [item for item in items if item] or None
    if spec.kind == "mapping":
        try:
            data = yaml.safe_load(str(raw))
        except yaml.YAMLError as exc:
            raise GoalError(f"{spec.key}: not YAML: {exc}") from None
        if data is not None and not isinstance(data, dict):
            raise GoalError(f"{spec.key}: expected a mapping of settings (key: value lines)")
        return data or None
    if spec.kind == "choices" and spec.optional_group and not raw:
        return None
    return raw


def goal_data(specs: list[FieldSpec], values: dict[str, Any]) -> dict[str, Any]:
    """The goal mapping from the form's values (by key); empty fields and schema defaults are left out."""
    data: dict[str, Any] = {}
    for spec in specs:
        value = _value(spec, values.get(spec.key))
        if value is None or (value == spec.schema_default and not spec.required):
            continue
        head, _, tail = spec.key.partition(".")
        if tail:
            data.setdefault(head, {})[tail] = value
        else:
            data[head] = value
    for spec in specs:  # a group that may be left out (publish) is, without its required settings
        head, _, tail = spec.key.partition(".")
        if spec.optional_group and spec.required and tail not in data.get(head, {}):
            data.pop(head, None)
    return data


def draft_text(data: dict[str, Any]) -> str:
    """The goal mapping as the YAML draft a person reads and edits (as ``chat.drafts`` writes it)."""
    return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
