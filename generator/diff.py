"""``sdkforge diff OLD NEW``: what a spec change means for users of the generated client.

Both specs are loaded, validated and lowered to the IR (the provisional lowering, without the
models stage: fast, and the class names are the ones the IR would pick for both). Methods,
parameters, return types and streaming come from the IR; the fields of models come from their
schemas in the documents, typed with the same ``Lowering.type_of`` the generator uses.

Every change is classified from the caller's side, by the direction data flows:

- what users pass in (parameters, request models) may accept more, never less: a new optional
  argument or a wider type is compatible; a removed argument, a new required one, a narrower
  type or a removed enum value is breaking;
- what users get back (return types, response models, streamed items) may promise more, never
  less: a new field or a narrower type is compatible; a removed field, a field that may now be
  missing or null, or a wider type is breaking, except new enum values, which are compatible
  (code that handles every value needs a new case; typed clients parse unknown values leniently).

The suggested version bump follows semantic versioning: major for any breaking change, minor for
additions, patch for changes that touch only documentation.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config, load_config
from .errors import ConfigError
from .ir import Api, Operation, Param, ParamLocation, TypeKind, TypeRef, union
from .load import load_spec
from .lower import Lowering
from .refs import canonical_refs
from .select import select_operations
from .validate import validate

EXIT_BREAKING = 1


class Impact(enum.Enum):
    BREAKING = "breaking"
    COMPATIBLE = "compatible"


class Bump(enum.Enum):
    NONE = "none"
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"


@dataclass(frozen=True)
class Change:
    impact: Impact
    subject: str  # Markdown: "`client.completions.create()` (`POST /completions`)" or "model `Completion`"
    text: str  # Markdown: "parameter `best_of` removed"

    @property
    def line(self) -> str:
        return f"{self.subject}: {self.text}"


@dataclass(frozen=True)
class Report:
    old_title: str
    old_version: str  # the old package version (configuration ``version``, else info.version)
    new_version: str
    changes: tuple[Change, ...]
    documentation_changed: bool  # the documents differ (descriptions, examples, or the changes listed)

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.impact is Impact.BREAKING)

    @property
    def compatible(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.impact is Impact.COMPATIBLE)

    @property
    def bump(self) -> Bump:
        if self.breaking:
            return Bump.MAJOR
        if self.compatible:
            return Bump.MINOR
        return Bump.PATCH if self.documentation_changed else Bump.NONE

    @property
    def next_version(self) -> str:
        """The old version bumped (semantic versioning; below 1.0 a breaking change bumps the minor)."""
        match = re.fullmatch(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", self.old_version.strip())
        if not match or self.bump is Bump.NONE:
            return ""
        major, minor, patch = (int(part or 0) for part in match.groups())
        if self.bump is Bump.MAJOR and major > 0:
            return f"{major + 1}.0.0"
        if self.bump in (Bump.MAJOR, Bump.MINOR):
            return f"{major}.{minor + 1}.0"
        return f"{major}.{minor}.{patch + 1}"

    def markdown(self) -> str:
        title = self.old_title or "the API"
        versions = f"{self.old_version} → {self.new_version}" if self.old_version != self.new_version else self.new_version
        lines = [f"## Client changes: {title} {versions}".rstrip(), ""]
        counts = f"{_count(len(self.breaking), 'breaking change')}, {_count(len(self.compatible), 'compatible change')}"
        if self.bump is Bump.NONE:
            lines.append("No changes: the generated client stays the same.")
        else:
            after = f" ({self.old_version} → {self.next_version})" if self.next_version else ""
            docs = "" if self.changes else "only the documentation or examples changed"
            lines.append(f"**Suggested version bump: {self.bump.value}**{after}: {docs or counts}.")
        for heading, changes in (("Breaking changes", self.breaking), ("Compatible changes", self.compatible)):
            if changes:
                lines += ["", f"### {heading}", ""]
                lines += [f"- {change.line}" for change in changes]
        return "\n".join(lines) + "\n"

    def json(self) -> str:
        return json.dumps({
            "bump": self.bump.value,
            "old_version": self.old_version,
            "next_version": self.next_version,
            "breaking": [dataclasses.asdict(c) | {"impact": c.impact.value} for c in self.breaking],
            "compatible": [dataclasses.asdict(c) | {"impact": c.impact.value} for c in self.compatible],
            "documentation_changed": self.documentation_changed,
        }, indent=2, ensure_ascii=False) + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


# -- snapshots of one spec --------------------------------------------------------------------


class Direction(enum.Flag):
    NONE = 0
    REQUEST = enum.auto()  # users pass it in
    RESPONSE = enum.auto()  # users get it back


@dataclass(frozen=True)
class FieldSnapshot:
    type: TypeRef
    required: bool


@dataclass
class Snapshot:
    api: Api
    document: Mapping[str, Any]
    operations: dict[tuple[str, str], tuple[str, Operation]]  # (path, METHOD) -> (accessor, operation)
    models: dict[str, dict[str, FieldSnapshot] | None]  # class -> fields (None: not an object)
    directions: dict[str, Direction]
    flattened: set[str]  # request body models whose fields are the methods' keyword arguments


def snapshot(spec_path: Path, config: Config) -> Snapshot:
    """Load, validate and lower a spec (as ``generate`` does, without the models stage)."""
    spec = load_spec(spec_path, label=str(spec_path))
    document = canonical_refs(spec.document)[0]
    if config.operations:
        from .pipeline import _streaming_refs  # noqa: PLC0415 - the pipeline imports black: keep the CLI's start fast

        document = select_operations(document, config.operations, _streaming_refs(config))
    spec = dataclasses.replace(spec, document=document)
    validate(spec)  # raises SpecError for errors; warnings are generate's to report
    lowering = Lowering(spec, config, None)
    api = lowering.lower()
    operations: dict[tuple[str, str], tuple[str, Operation]] = {}

    def visit(resource: Any, prefix: str) -> None:
        accessor = f"{prefix}.{resource.attribute}" if prefix else resource.attribute
        for operation in resource.operations:
            path = _unescape(operation.pointer.split("/")[2])
            operations[(path, operation.http_method.upper())] = (f"{accessor}.{operation.method_name}", operation)
        for child in resource.children:
            visit(child, accessor)

    for top in api.resources:
        visit(top, "")
    models: dict[str, dict[str, FieldSnapshot] | None] = {}
    for model in api.models:
        schema = json.loads(model.hoisted_schema) if model.hoisted_schema else lowering.resolve(model.pointer)
        properties, required = lowering._object_properties(schema)
        if properties is None:
            models[model.class_name] = None
            continue
        models[model.class_name] = {
            name: FieldSnapshot(lowering.type_of(prop, f"{model.pointer}/properties/{name}"), name in required)
            for name, prop in properties.items()
        }
    flattened = set()
    for _, operation in operations.values():
        if operation.body is not None and operation.body.whole is None:
            raw = lowering.resolve(operation.pointer) or {}
            body = raw.get("requestBody") or {}
            body = lowering.resolve(body["$ref"]) or {} if "$ref" in body else body
            media = (body.get("content") or {}).get(operation.body.content_type.text) or {}
            ref = (media.get("schema") or {}).get("$ref")
            if isinstance(ref, str) and ref in lowering.model_names:
                flattened.add(lowering.model_names[ref])
    return Snapshot(api, document, operations, models, _directions(operations.values(), models), flattened)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _model_names(t: TypeRef) -> set[str]:
    found = {t.model} if t.kind is TypeKind.MODEL else set()
    for member in t.args:
        found |= _model_names(member)
    return found


def _directions(operations: Iterable[tuple[str, Operation]], models: Mapping[str, Mapping[str, FieldSnapshot] | None]) -> dict[str, Direction]:
    directions: dict[str, Direction] = {}

    def mark(names: set[str], direction: Direction) -> None:
        todo = list(names)
        while todo:
            name = todo.pop()
            if direction in directions.get(name, Direction.NONE):
                continue
            directions[name] = directions.get(name, Direction.NONE) | direction
            for field in (models.get(name) or {}).values():
                todo.extend(_model_names(field.type))

    for _, operation in operations:
        for param in operation.all_params:
            mark(_model_names(param.type), Direction.REQUEST)
        mark(_model_names(operation.response_type), Direction.RESPONSE)
        if operation.stream:
            mark(_model_names(operation.stream.event_type), Direction.RESPONSE)
    return directions


# -- comparing types ------------------------------------------------------------------------


def covers(a: TypeRef, b: TypeRef) -> bool:
    """Whether every value of type ``b`` is also a value of type ``a``."""
    if a.kind in (TypeKind.ANY, TypeKind.OBJECT):
        return True
    if b.kind is TypeKind.UNION:
        return all(covers(a, member) for member in b.args)
    if b.kind is TypeKind.LITERAL and len(b.literals) > 1:
        return all(covers(a, TypeRef(TypeKind.LITERAL, literals=(v,))) for v in b.literals)
    if a.kind is TypeKind.UNION:
        return any(covers(member, b) for member in a.args)
    if b.kind in (TypeKind.ANY, TypeKind.OBJECT):
        return False
    if a.kind is TypeKind.LITERAL:
        return b.kind is TypeKind.LITERAL and _literal_keys(b) <= _literal_keys(a)
    if b.kind is TypeKind.LITERAL:
        value = b.literals[0] if b.literals else None
        if isinstance(value, bool):
            return a.kind is TypeKind.BOOL
        return (a.kind is TypeKind.STR and isinstance(value, str)) or (
            a.kind in (TypeKind.INT, TypeKind.FLOAT) and isinstance(value, int)
        ) or (a.kind is TypeKind.FLOAT and isinstance(value, float))
    if a.kind is TypeKind.FLOAT and b.kind is TypeKind.INT:
        return True
    if a.kind is not b.kind:
        return False
    if a.kind in (TypeKind.LIST, TypeKind.DICT):
        return covers(a.args[0], b.args[0])
    if a.kind is TypeKind.MODEL:
        return a.model == b.model
    return True


def _literal_keys(t: TypeRef) -> set[tuple[str, Any]]:
    return {(type(v).__name__, v) for v in t.literals}


def _enum_values(t: TypeRef) -> set[tuple[str, Any]]:
    members = t.args if t.kind is TypeKind.UNION else (t,)
    found: set[tuple[str, Any]] = set()
    for member in members:
        if member.kind is TypeKind.LITERAL:
            found |= _literal_keys(member)
    return found


def _without_literals(t: TypeRef) -> TypeRef | None:
    members = [m for m in (t.args if t.kind is TypeKind.UNION else (t,)) if m.kind is not TypeKind.LITERAL]
    return union(*members) if members else None


def _values(keys: Iterable[tuple[str, Any]]) -> str:
    return ", ".join(f"`{v!r}`" for _, v in sorted(keys, key=lambda k: (k[0], str(k[1]))))


def type_change(old: TypeRef, new: TypeRef, direction: Direction, what: str) -> tuple[Impact, str] | None:
    """Classify a type change of something that flows in ``direction`` (both: the stricter rule)."""
    if old == new:
        return None
    old_values, new_values = _enum_values(old), _enum_values(new)
    if old_values != new_values and _without_literals(old) == _without_literals(new):
        added, removed = new_values - old_values, old_values - new_values
        parts = ([f"enum values added: {_values(added)}"] if added else []) + ([f"enum values removed: {_values(removed)}"] if removed else [])
        open_enum = any(m.kind is TypeKind.STR for m in (new.args if new.kind is TypeKind.UNION else (new,)))
        breaking = not open_enum and Direction.REQUEST in direction and bool(removed)
        return (Impact.BREAKING if breaking else Impact.COMPATIBLE), f"{what}: {'; '.join(parts)}"
    widened, narrowed = covers(new, old), covers(old, new)
    spelled = f"`{old.annotation}` → `{new.annotation}`"
    breaking = False
    if Direction.REQUEST in direction:
        breaking |= not widened
    if Direction.RESPONSE in direction:
        breaking |= not narrowed
    if widened and not narrowed:
        verb = "accepts more" if direction is Direction.REQUEST else "wider type"
    elif narrowed and not widened:
        verb = "accepts less" if direction is Direction.REQUEST else "narrower type"
    else:
        verb = "type changed"
    return (Impact.BREAKING if breaking else Impact.COMPATIBLE), f"{what}: {verb}, {spelled}"


# -- comparing snapshots ------------------------------------------------------------------------


def compare(old: Snapshot, new: Snapshot) -> Report:
    changes: list[Change] = []
    package = new.api.package

    for key, (accessor, operation) in old.operations.items():
        if key not in new.operations:
            changes.append(Change(Impact.BREAKING, f"`client.{accessor}()` (`{key[1]} {key[0]}`)", "removed"))
    for key, (accessor, operation) in new.operations.items():
        subject = f"`client.{accessor}()` (`{key[1]} {key[0]}`)"
        if key not in old.operations:
            changes.append(Change(Impact.COMPATIBLE, subject, "added"))
            continue
        old_accessor, old_operation = old.operations[key]
        changes += [Change(impact, subject, text) for impact, text in _operation_changes(old_accessor, old_operation, accessor, operation)]

    for name, fields in old.models.items():
        if name not in new.models:
            changes.append(Change(Impact.BREAKING, f"model `{name}`", f"removed (`from {package}.types import {name}` fails)"))
    for name, fields in new.models.items():
        subject = f"model `{name}`"
        if name not in old.models:
            changes.append(Change(Impact.COMPATIBLE, subject, "added"))
            continue
        direction = old.directions.get(name, Direction.NONE) | new.directions.get(name, Direction.NONE)
        if direction is Direction.NONE and name in old.flattened | new.flattened:
            continue  # a request body only: its fields are parameters, reported with the methods
        if direction is Direction.NONE:
            direction = Direction.REQUEST | Direction.RESPONSE  # not used by any method: be strict
        changes += [Change(impact, subject, text) for impact, text in _field_changes(old.models[name], fields, direction)]
    return Report(
        old_title=str(old.api.title.text),
        old_version=old.api.version.text,
        new_version=new.api.version.text,
        changes=tuple(changes),
        documentation_changed=old.document != new.document,
    )


def _switch(operation: Operation) -> Param | None:
    return operation.stream.switch if operation.stream else None


def _operation_changes(old_accessor: str, old: Operation, new_accessor: str, new: Operation) -> list[tuple[Impact, str]]:
    found: list[tuple[Impact, str]] = []
    if old_accessor != new_accessor:
        found.append((Impact.BREAKING, f"moved from `client.{old_accessor}()`"))
    old_switch, new_switch = _switch(old), _switch(new)
    old_params = {p.name: p for p in old.all_params if p is not old_switch}
    new_params = {p.name: p for p in new.all_params if p is not new_switch}
    old_positional = [p.name for p in old.path_params]
    new_positional = [p.name for p in new.path_params]
    if old_positional != new_positional and set(old_positional) == set(new_positional):
        found.append((Impact.BREAKING, f"positional parameters reordered: ({', '.join(old_positional)}) → ({', '.join(new_positional)})"))
    for name, param in old_params.items():
        if name not in new_params:
            found.append((Impact.BREAKING, f"parameter `{name}` removed"))
    for name, param in new_params.items():
        before = old_params.get(name)
        if before is None:
            if param.required:
                found.append((Impact.BREAKING, f"required parameter `{name}: {param.type.annotation}` added"))
            else:
                found.append((Impact.COMPATIBLE, f"optional parameter `{name}: {param.type.annotation}` added"))
            continue
        positional = (before.location is ParamLocation.PATH, param.location is ParamLocation.PATH)
        if positional[0] != positional[1]:
            found.append((Impact.BREAKING, f"parameter `{name}` is now {'positional' if positional[1] else 'a keyword argument'}"))
        elif before.location is not param.location:
            found.append((Impact.COMPATIBLE, f"parameter `{name}` is now sent in the {param.location.value} (was {before.location.value})"))
        if before.required and not param.required:
            found.append((Impact.COMPATIBLE, f"parameter `{name}` is now optional"))
        elif param.required and not before.required:
            found.append((Impact.BREAKING, f"parameter `{name}` is now required"))
        change = type_change(before.type, param.type, Direction.REQUEST, f"parameter `{name}`")
        if change:
            found.append(change)
    change = type_change(old.response_type, new.response_type, Direction.RESPONSE, "return type")
    if change and not (old.always_streams and new.always_streams):
        found.append(change)
    found += _stream_changes(old, new)
    if new.deprecated and not old.deprecated:
        found.append((Impact.COMPATIBLE, "deprecated"))
    return found


def _stream_changes(old: Operation, new: Operation) -> list[tuple[Impact, str]]:
    if old.stream is None and new.stream is None:
        return []
    if old.stream is None and new.stream is not None:
        if new.stream.switch is None:
            return [(Impact.BREAKING, "now always returns a stream")]
        return [(Impact.COMPATIBLE, f"streaming added (`{new.stream.switch.name}=True`)")]
    assert old.stream is not None
    if new.stream is None:
        how = f" (`{old.stream.switch.name}=True`)" if old.stream.switch else ""
        return [(Impact.BREAKING, f"streaming removed{how}")]
    found: list[tuple[Impact, str]] = []
    old_switch, new_switch = old.stream.switch, new.stream.switch
    if (old_switch is None) != (new_switch is None):
        found.append((Impact.BREAKING, "now streams only when asked" if new_switch else "now always returns a stream"))
    elif old_switch and new_switch and old_switch.name != new_switch.name:
        found.append((Impact.BREAKING, f"streaming is now asked for with `{new_switch.name}=True` (was `{old_switch.name}=True`)"))
    change = type_change(old.stream.event_type, new.stream.event_type, Direction.RESPONSE, "streamed items")
    if change:
        found.append(change)
    return found


def _field_changes(old: Mapping[str, FieldSnapshot] | None, new: Mapping[str, FieldSnapshot] | None, direction: Direction) -> list[tuple[Impact, str]]:
    if old is None or new is None:
        if (old is None) != (new is None):
            return [(Impact.BREAKING, "is now an object model" if new is not None else "is no longer an object model")]
        return []
    found: list[tuple[Impact, str]] = []
    sent, received = Direction.REQUEST in direction, Direction.RESPONSE in direction
    for name in old:
        if name not in new:
            found.append((Impact.BREAKING, f"field `{name}` removed"))
    for name, field in new.items():
        before = old.get(name)
        if before is None:
            breaking = sent and field.required
            found.append((Impact.BREAKING if breaking else Impact.COMPATIBLE,
                          f"{'required' if field.required else 'optional'} field `{name}: {field.type.annotation}` added"))
            continue
        if before.required and not field.required:
            found.append((Impact.BREAKING if received else Impact.COMPATIBLE, f"field `{name}` is now optional"
                          + (" (may be missing: `None`)" if received else "")))
        elif field.required and not before.required:
            found.append((Impact.BREAKING if sent else Impact.COMPATIBLE, f"field `{name}` is now required"))
        change = type_change(before.type, field.type, direction, f"field `{name}`")
        if change:
            found.append(change)
    return found


def diff_specs(old_path: Path, new_path: Path, config: Config) -> Report:
    old = snapshot(old_path, config)
    new = snapshot(new_path, config)
    report = compare(old, new)
    if config.version:  # the package version the user sets, rather than the spec's
        report = dataclasses.replace(report, old_version=config.version)
    return report


# -- the command ------------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    diff = commands.add_parser(
        "diff", help="what changes for users of the generated client between two versions of a spec (Markdown)",
        description="Compare two versions of a spec as the generated client sees them: methods, parameters, "
                    "fields, enum values and streaming added or removed, each breaking or compatible, with a "
                    "suggested semantic version bump.",
    )
    diff.add_argument("old", type=Path, help="the spec before the change")
    diff.add_argument("new", type=Path, help="the spec after the change")
    diff.add_argument("--config", type=Path, help="pyproject.toml with [tool.sdkforge] (default: ./pyproject.toml, if any)")
    diff.add_argument("--format", choices=("markdown", "json"), default="markdown", help="output format (default: markdown)")
    diff.add_argument("--fail-on-breaking", action="store_true", help="exit 1 when any change is breaking (for CI)")


def cmd_diff(args: argparse.Namespace) -> int:
    for path in (args.old, args.new):
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
    if args.config and not args.config.is_file():
        raise ConfigError(f"{args.config}: no such configuration file")
    config = load_config(args.config or Path("pyproject.toml"))
    config.validate()
    report = diff_specs(args.old, args.new, config)
    sys.stdout.write(report.markdown() if args.format == "markdown" else report.json())
    sys.stdout.flush()
    if args.fail_on_breaking and report.breaking:
        print(f"sdkforge: {_count(len(report.breaking), 'breaking change')}", file=sys.stderr)
        return EXIT_BREAKING
    return 0
