"""``sdkforge init``: scaffold an SDK repository around a spec.

The repository it writes is the user's, not ours: ``spec/`` holds the OpenAPI description,
``pyproject.toml`` holds every sdkforge setting (``[tool.sdkforge]``) and the repository's own
development dependency on sdkforge, the Makefile runs the loop (``generate``, ``check``,
``test``), and ``tests/test_smoke.py`` calls the generated client against a local HTTP server.

``scaffold()`` is pure apart from reading the spec: it returns ``{path: bytes}``. Writing is
``write_scaffold()``'s job, which never replaces an existing file unless told to.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import importlib.metadata
import importlib.resources
import json
import keyword
import os
import re
import sys
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from . import __version__
from .config import Config
from .errors import ConfigError
from .ir import Api, AuthKind, Operation, Param, Resource, TypeKind, TypeRef

DEFAULT_OUT = "generated"
SMOKE_API_KEY = "smoke-test-key"
SMOKE_BASIC_CREDENTIALS = "smoke-user:smoke-password"
# Title words that say nothing about which API it is: "Ollama API" -> "ollama".
_GENERIC_WORDS = frozenset({"api", "apis", "openapi", "rest", "restful", "http", "https", "json", "spec", "specification"})
_VERSION_WORD = re.compile(r"v?\d+", re.IGNORECASE)
# (template under templates/scaffold/, file it becomes); the spec is added separately.
_TEMPLATES = (
    ("pyproject.toml.j2", "pyproject.toml"),
    ("Makefile.j2", "Makefile"),
    ("README.md.j2", "README.md"),
    ("gitignore.j2", ".gitignore"),
    ("tests/test_smoke.py.j2", "tests/test_smoke.py"),
)


# -- names ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    package: str
    client_class: str


def names_from_title(title: str) -> Names:
    """``"Ollama API"`` -> ``ollama`` / ``Ollama``; ``"Mistral AI API"`` -> ``mistral_ai`` / ``MistralAI``.

    Words that name no API (``API``, ``OpenAPI``, ``REST``, version numbers) are left out; the
    package never shadows a standard-library module or a keyword.
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = [w for w in re.split(r"[^0-9A-Za-z]+", ascii_title) if w]
    kept = [w for w in words if w.lower() not in _GENERIC_WORDS and not _VERSION_WORD.fullmatch(w)]
    if not kept:
        return Names(Config.package, Config.client_class)
    package = "_".join(w.lower() for w in kept)
    client_class = "".join(w[:1].upper() + w[1:] for w in kept)
    if package[0].isdigit():
        package, client_class = f"api_{package}", f"Api{client_class}"
    if keyword.iskeyword(package) or keyword.issoftkeyword(package) or package in sys.stdlib_module_names:
        package += "_client"
    if keyword.iskeyword(client_class):
        client_class += "Client"
    return Names(package, client_class)


# -- the smoke call ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SmokeCall:
    """One call of the generated client that the scaffolded smoke test makes, as source text."""

    test_name: str
    accessor: str  # "items.list": client.items.list(...)
    arguments: str  # Python source of the call's arguments
    http_method_literal: str  # "'GET'"
    path_literal: str  # the request path the call must produce
    reply_literal: str  # bytes literal the local server answers with
    result_check: str  # Python expression about ``result``
    result_uses_pydantic: bool
    auth_check: str  # Python expression about ``request``; "" without auth


def _sample(type_ref: TypeRef) -> str | None:
    """Python source of a value of ``type_ref`` that the generated method accepts, or None."""
    kind = type_ref.kind
    simple = {
        TypeKind.STR: '"smoke"', TypeKind.ANY: '"smoke"', TypeKind.OBJECT: '"smoke"', TypeKind.INT: "1",
        TypeKind.FLOAT: "1.5", TypeKind.BOOL: "True", TypeKind.NONE: "None", TypeKind.BYTES: 'b"smoke"',
        TypeKind.FILE: 'b"smoke"', TypeKind.LIST: "[]", TypeKind.DICT: "{}",
    }
    if kind in simple:
        return simple[kind]
    if kind is TypeKind.LITERAL and type_ref.literals:
        value = type_ref.literals[0]
        return _literal(value) if isinstance(value, str) else repr(value)
    if kind is TypeKind.UNION:
        members = sorted(type_ref.args, key=lambda m: m.kind is TypeKind.NONE)
        return next((s for s in map(_sample, members) if s is not None), None)
    return None  # a bare model: no value to make up


def _path_sample(param: Param) -> tuple[str, str] | None:
    """(Python source, text in the URL) of a path parameter's value."""
    kind = param.type.kind
    if kind in (TypeKind.STR, TypeKind.ANY, TypeKind.OBJECT):
        return '"smoke-id"', "smoke-id"
    if kind is TypeKind.INT:
        return "1", "1"
    if kind is TypeKind.LITERAL and param.type.literals and isinstance(param.type.literals[0], (str, int)) \
            and not isinstance(param.type.literals[0], bool) and re.fullmatch(r"[A-Za-z0-9._~-]+", str(param.type.literals[0])):
        value = param.type.literals[0]
        return (_literal(value) if isinstance(value, str) else repr(value)), str(value)
    return None


def _reply(type_ref: TypeRef) -> tuple[bytes, str]:
    """What the server answers and what the parsed result must then be."""
    kind = type_ref.kind
    if kind is TypeKind.NONE:
        return b"", "result is None"
    if kind is TypeKind.MODEL:
        return b"{}", "isinstance(result, pydantic.BaseModel)"
    if kind is TypeKind.LIST:
        return b"[]", "result == []"
    if kind in (TypeKind.DICT, TypeKind.ANY, TypeKind.OBJECT):
        return b"{}", "result == {}"
    if kind is TypeKind.INT:
        return b"1", "result == 1"
    if kind is TypeKind.FLOAT:
        return b"1.5", "result == 1.5"
    if kind is TypeKind.BOOL:
        return b"true", "result is True"
    if kind is TypeKind.BYTES:
        return b'"smoke"', "result == b'\"smoke\"'"
    if kind is TypeKind.STR:
        return b'"smoke"', "isinstance(result, str)"
    if kind is TypeKind.UNION:  # what the first member that is not None parses from
        member = next((m for m in type_ref.args if m.kind is not TypeKind.NONE), type_ref.args[0])
        return _reply(member)[0], "result is not None"
    return b"{}", "result is not None"


def _walk(resources: tuple[Resource, ...], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Operation]]:
    for resource in resources:
        path = prefix + (resource.attribute,)
        for operation in resource.operations:
            yield path, operation
        yield from _walk(resource.children, path)


def choose_smoke_call(api: Api) -> SmokeCall | None:
    """The simplest operation to call: not streaming only, JSON, fewest required arguments, GET first."""
    candidates: list[tuple[tuple[int, int, int, int, int], SmokeCall]] = []
    for index, (path, op) in enumerate(_walk(api.resources)):
        if op.always_streams or op.http_method == "head":  # nothing to parse from a HEAD
            continue
        call = _smoke_call(api, path, op)
        if call is None:
            continue
        required = len(op.path_params) + sum(1 for p in op.signature_params if p.required)
        rank = (int(op.has_overloads), int(op.accept is not None), required, int(op.http_method != "get"), index)
        candidates.append((rank, call))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def _smoke_call(api: Api, path: tuple[str, ...], op: Operation) -> SmokeCall | None:
    positional: list[str] = []
    url = op.path.text
    for param in op.path_params:
        sample = _path_sample(param)
        if sample is None:
            return None
        positional.append(sample[0])
        url = url.replace("{" + param.name + "}", sample[1])
    keywords: list[str] = []
    for param in op.signature_params:
        if param.required:
            value = _sample(param.type)
            if value is None:
                return None
            keywords.append(f"{param.name}={value}")
    if op.has_overloads and op.stream and op.stream.switch:
        keywords.append(f"{op.stream.switch.name}=False")  # the plain (not streamed) overload
    if "{" in url:
        return None
    reply, check = _reply(op.response_type)
    accessor = ".".join(path + (op.method_name,))
    return SmokeCall(
        test_name=re.sub(r"_+", "_", accessor.replace(".", "_")).strip("_"),
        accessor=accessor,
        arguments=", ".join(positional + keywords),
        http_method_literal=_literal(op.http_method.upper()),
        path_literal=_literal(url),
        reply_literal=_literal(reply),
        result_check=check,
        result_uses_pydantic="pydantic." in check,
        auth_check=_auth_check(api),
    )


def _auth_check(api: Api) -> str:
    if api.auth is None:
        return ""
    if api.auth.kind is AuthKind.BEARER:
        return 'request.headers["authorization"] == "Bearer " + API_KEY'
    if api.auth.kind is AuthKind.BASIC:
        encoded = base64.b64encode(SMOKE_BASIC_CREDENTIALS.encode()).decode()
        return f'request.headers["authorization"] == {_literal("Basic " + encoded)}'
    name = api.auth.wire_name.text if api.auth.wire_name else "Authorization"
    if api.auth.kind is AuthKind.API_KEY_QUERY:
        from urllib.parse import quote  # noqa: PLC0415

        return f'{_literal(quote(name, safe="") + "=")} + API_KEY in request.query.split("&")'
    return f"request.headers[{_literal(name.lower())}] == API_KEY"


# -- the repository -------------------------------------------------------------------------


def installed_requirement(dist: importlib.metadata.Distribution | None = None) -> str:
    """How the SDK repository should depend on the sdkforge that runs now (PEP 610 says where
    it was installed from): ``sdkforge @ git+URL@commit``, ``sdkforge @ file:///...whl``, or
    ``sdkforge==X.Y.Z`` when it came from an index."""
    if dist is None:
        try:
            dist = importlib.metadata.distribution("sdkforge")
        except importlib.metadata.PackageNotFoundError:
            return f"sdkforge=={__version__}"
    try:
        info = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str):
        return f"sdkforge=={dist.version}"
    url = info["url"]
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") and vcs.get("commit_id"):
        url = f"{vcs['vcs']}+{url}@{vcs['commit_id']}"
    if info.get("subdirectory"):
        url += f"#subdirectory={info['subdirectory']}"
    return f"sdkforge @ {url}"


def _literal(value: str | bytes) -> str:
    """``repr``, in double quotes when that needs no escaping (black's style)."""
    text = repr(value)
    prefix = "b" if isinstance(value, bytes) else ""
    raw = value.decode("latin-1") if isinstance(value, bytes) else value
    if text.startswith(prefix + "'") and '"' not in raw and "'" not in raw:
        return f'{prefix}"{text[len(prefix) + 1:-1]}"'
    return text


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _one_line(text: str) -> str:
    """Text for a comment or a heading: one line, printable, no line-continuing backslash."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split()).replace("\\", "/")[:100]


def _external_refs(document: Any, directory: Path) -> list[str]:
    """``$ref``s to files beside the spec (a copy of the spec alone would lose them)."""
    found: list[str] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#") and "://" not in ref \
                    and (directory / ref.partition("#")[0]).is_file():
                found.append(ref)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(set(found))


@dataclass(frozen=True)
class Scaffold:
    files: dict[PurePosixPath, bytes]
    config: Config
    warnings: tuple[str, ...] = ()


def _inside(path: Path, directory: Path) -> PurePosixPath | None:
    """``path`` relative to ``directory`` when it is inside it."""
    try:
        return PurePosixPath(path.resolve().relative_to(directory.resolve()).as_posix())
    except ValueError:
        return None


def _spec_target(source: Path | None) -> PurePosixPath:
    suffix = source.suffix.lower() if source else ".yaml"
    return PurePosixPath("spec") / ("openapi" + (suffix if suffix in (".json", ".yml", ".yaml") else ".yaml"))


def _environment() -> Any:
    import jinja2  # noqa: PLC0415 - keep `sdkforge --help` fast

    root = importlib.resources.files("generator.templates") / "scaffold"
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (root / name).read_text(encoding="utf-8")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def scaffold(
    spec_source: Path | None = None,
    *,
    target: Path | None = None,
    package: str | None = None,
    client_name: str | None = None,
    out: str = DEFAULT_OUT,
    requirement: str | None = None,
) -> Scaffold:
    """The files of a new SDK repository in ``target`` for ``spec_source`` (None: a small example
    spec). A spec already inside ``target`` stays where it is; any other is copied into spec/."""
    from .load import load_spec  # noqa: PLC0415 - the pipeline is heavy; keep `sdkforge --help` fast
    from .lower import lower  # noqa: PLC0415
    from .refs import canonical_refs  # noqa: PLC0415
    from .validate import validate  # noqa: PLC0415

    env = _environment()
    in_place = _inside(spec_source, target) if spec_source is not None and target is not None else None
    spec_target = in_place or _spec_target(spec_source)
    spec_bytes = b""
    if in_place is not None:
        loaded = load_spec(Path(spec_source or ""), label=str(in_place))
    else:
        if spec_source is None:
            title = f"{client_name or 'Example'} API"
            spec_bytes = env.get_template("spec/openapi.yaml.j2").render(title_yaml=json.dumps(title)).encode("utf-8")
        else:
            try:
                spec_bytes = spec_source.read_bytes()
            except OSError as exc:
                raise ConfigError(f"--spec {spec_source}: cannot read it ({exc.strerror or exc})") from None
        with tempfile.TemporaryDirectory(prefix="sdkforge-init-") as scratch:
            # Load the bytes that will be written, from where they will be (external refs aside).
            staged = Path(scratch) / spec_target.name
            staged.write_bytes(spec_bytes)
            loaded = load_spec(staged, label=str(spec_source) if spec_source else str(spec_target))
    info = loaded.document.get("info")
    title = str(info.get("title") or "") if isinstance(info, Mapping) else ""
    names = names_from_title(title)
    package = package or names.package
    client_class = client_name or (names.client_class if package == names.package else _pascal(package))
    prefix = package.upper()
    config = Config(
        spec=str(spec_target), out=out, package=package, client_class=client_class,
        api_key_env=f"{prefix}_API_KEY", base_url_env=f"{prefix}_BASE_URL",
    )
    config.validate()
    out_path = PurePosixPath(out)
    if out_path.is_absolute() or ".." in out_path.parts or not out_path.parts:
        raise ConfigError(f"--out {out!r}: give a directory inside the repository")
    warnings: list[str] = []
    loaded = dataclasses.replace(loaded, document=canonical_refs(loaded.document)[0])
    external = _external_refs(loaded.document, spec_source.parent) if spec_source and in_place is None else []
    if external:  # they are not beside the copy yet: no checks, no smoke call
        warnings.append(f"{spec_source} refers to other files ({', '.join(external[:5])}"
                        f"{', ...' if len(external) > 5 else ''}): copy them beside {spec_target}")
        components = loaded.document.get("components")
        has_auth = bool(components.get("securitySchemes")) if isinstance(components, Mapping) else False
        basic_auth, smoke = False, None
    else:
        warnings.extend(problem.format() for problem in validate(loaded))  # errors raise SpecError
        api = lower(loaded, config)
        has_auth = api.auth is not None
        basic_auth = api.auth is not None and api.auth.kind is AuthKind.BASIC
        smoke = choose_smoke_call(api)
    display = _one_line(title) or client_class
    context: dict[str, Any] = {
        "title": display,
        "spec": config.spec,
        "out": out_path.as_posix(),
        "out_name": out_path.name,
        "package": package,
        "client_class": client_class,
        "async_client_class": config.async_client_name,
        "api_key_env": config.api_key_env,
        "base_url_env": config.base_url_env,
        "has_auth": has_auth,
        "smoke": smoke,
        "smoke_api_key": _literal(SMOKE_BASIC_CREDENTIALS if basic_auth else SMOKE_API_KEY),
        "sdkforge_requirement_toml": _toml(requirement or installed_requirement()),
        "spec_toml": _toml(config.spec),
        "out_toml": _toml(out_path.as_posix()),
        "package_toml": _toml(package),
        "client_class_toml": _toml(client_class),
        "async_client_class_toml": _toml(config.async_client_name),
        "api_key_env_toml": _toml(config.api_key_env),
        "base_url_env_toml": _toml(config.base_url_env),
    }
    files = {PurePosixPath(target): env.get_template(template).render(**context).encode("utf-8")
             for template, target in _TEMPLATES}
    if in_place is None:
        files[spec_target] = spec_bytes
    return Scaffold(dict(sorted(files.items())), config, tuple(warnings))


def _pascal(package: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in package.split("_") if w) or Config.client_class


@dataclass(frozen=True)
class Outcome:
    path: PurePosixPath
    action: str  # "created", "overwrote", "skipped"


def write_scaffold(target: Path, files: Mapping[PurePosixPath, bytes], *, force: bool = False) -> list[Outcome]:
    """Write each file unless it exists (``force``: replace it). Existing directories are fine."""
    outcomes: list[Outcome] = []
    for relative, content in files.items():
        path = target / relative
        exists = path.exists() or path.is_symlink()
        if exists and not force:
            outcomes.append(Outcome(relative, "skipped"))
            continue
        if exists and path.is_dir():
            raise ConfigError(f"{path} is a directory; sdkforge init writes a file there")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.sdkforge-init-{os.getpid()}")
        temporary.write_bytes(content)
        os.replace(temporary, path)
        outcomes.append(Outcome(relative, "overwrote" if exists else "created"))
    return outcomes


# -- the command ----------------------------------------------------------------------------


def add_parser(commands: Any) -> None:
    init = commands.add_parser(
        "init", help="scaffold an SDK repository: spec, pyproject.toml settings, Makefile, smoke test",
        description="Write a new SDK repository into DIR (default: the current directory). "
                    "Existing files are left alone (and listed) unless --force.",
    )
    init.add_argument("dir", nargs="?", default=".", type=Path, help="the repository directory (created if missing)")
    init.add_argument("--spec", type=Path, help="the OpenAPI file: copied into spec/, unless it is inside DIR already (default: a small example)")
    init.add_argument("--package", help="Python package name (default: from the spec's title)")
    init.add_argument("--client-name", help="sync client class name (default: from the spec's title)")
    init.add_argument("--out", default=DEFAULT_OUT, help=f"output directory of `sdkforge generate` (default: {DEFAULT_OUT})")
    init.add_argument("--sdkforge-requirement", metavar="REQUIREMENT",
                      help="how the repository depends on sdkforge (default: where this sdkforge was installed from)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")


def cmd_init(args: argparse.Namespace) -> int:
    target: Path = args.dir
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target} exists and is not a directory")
    result = scaffold(args.spec, target=target, package=args.package, client_name=args.client_name, out=args.out,
                      requirement=args.sdkforge_requirement)
    for warning in result.warnings:
        print(f"sdkforge: warning: {warning}", file=sys.stderr)
    target.mkdir(parents=True, exist_ok=True)
    outcomes = write_scaffold(target, result.files, force=args.force)
    for outcome in outcomes:
        note = " (exists; --force overwrites it)" if outcome.action == "skipped" else ""
        print(f"{outcome.action:>9} {(target / outcome.path).as_posix()}{note}", file=sys.stderr)
    skipped = [o.path for o in outcomes if o.action == "skipped"]
    if PurePosixPath("pyproject.toml") in skipped:
        print("sdkforge: pyproject.toml exists: add these settings to it yourself:\n", file=sys.stderr)
        print(_settings_table(result.config))
    where = "" if target.resolve() == Path.cwd().resolve() else f"cd {target.as_posix()} && "
    print(f"sdkforge: package {result.config.package!r}, clients {result.config.client_class} and "
          f"{result.config.async_client_name}; next: {where}make generate && make test", file=sys.stderr)
    return 0


def _settings_table(config: Config) -> str:
    return "\n".join([
        "[tool.sdkforge]",
        f"spec = {_toml(config.spec)}",
        f"out = {_toml(config.out)}",
        f"package = {_toml(config.package)}",
        f"client-class = {_toml(config.client_class)}",
        f"async-client-class = {_toml(config.async_client_name)}",
        f"api-key-env = {_toml(config.api_key_env)}",
        f"base-url-env = {_toml(config.base_url_env)}",
    ])
