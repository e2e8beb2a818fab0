"""Request and response shapes on the wire (tests/golden/shapes): multipart uploads, form bodies,
query styles, cookies, binary and text responses, nested resources, basic auth."""

from __future__ import annotations

import asyncio
import base64
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from generator.config import load_config
from generator.pipeline import generate
from generator.write import write_tree
from tests.support.server import Reply, ScriptedServer

GOLDEN = Path(__file__).resolve().parent / "golden" / "shapes"
FILE = {"id": "file-1", "bytes": 3, "purpose": None}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("shapes")
    config = load_config(GOLDEN / "sdkforge.toml").replace(spec="openapi.yaml")
    write_tree(out, generate(GOLDEN / "openapi.yaml", config))
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("shapes")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "shapes" or m.startswith("shapes.")]:
            del sys.modules[name]


@pytest.fixture
def client(shapes: ModuleType, server: ScriptedServer) -> object:
    return shapes.Shapes(api_key="ada:s3cret", base_url=server.base_url, max_retries=0)


def multipart_parts(body: bytes, content_type: str) -> dict[str, list[tuple[str | None, bytes]]]:
    boundary = content_type.split("boundary=")[1].encode()
    parts: dict[str, list[tuple[str | None, bytes]]] = {}
    for chunk in body.split(b"--" + boundary)[1:-1]:
        head, _, payload = chunk[2:-2].partition(b"\r\n\r\n")  # each part is framed by CRLFs
        disposition = head.decode().split("Content-Disposition: ")[1].split("\r\n")[0]
        fields = dict(p.strip().split("=", 1) for p in disposition.split(";")[1:])
        filename = fields.get("filename", "").strip('"') or None
        parts.setdefault(fields["name"].strip('"'), []).append((filename, payload))
    return parts


def test_basic_auth_and_multipart_upload_of_bytes(client: object, server: ScriptedServer) -> None:
    server.reply(Reply(body=FILE))
    result = client.files.upload(file=b"abc", purpose="fine-tune", tags=["a", "b"])  # type: ignore[attr-defined]
    (request,) = server.requests
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"ada:s3cret").decode()
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    parts = multipart_parts(request.body, request.headers["content-type"])
    assert parts["file"] == [("upload", b"abc")]
    assert parts["purpose"] == [(None, b"fine-tune")]
    assert parts["tags"] == [(None, b"a"), (None, b"b")]
    assert result.id == "file-1" and result.bytes == 3


@pytest.mark.parametrize("kind", ["open file", "path", "tuple"])
def test_upload_accepts_files_paths_and_tuples(kind: str, client: object, server: ScriptedServer, tmp_path: Path) -> None:
    target = tmp_path / "data.jsonl"
    target.write_bytes(b'{"x": 1}\n')
    server.reply(Reply(body=FILE))
    if kind == "open file":
        with target.open("rb") as handle:
            client.files.upload(file=handle, purpose="p")  # type: ignore[attr-defined]
        expected = ("data.jsonl", b'{"x": 1}\n')
    elif kind == "path":
        client.files.upload(file=target, purpose="p")  # type: ignore[attr-defined]
        expected = ("data.jsonl", b'{"x": 1}\n')
    else:
        client.files.upload(file=("named.txt", b"hello", "text/plain"), purpose="p")  # type: ignore[attr-defined]
        expected = ("named.txt", b"hello")
    request = server.requests[0]
    assert multipart_parts(request.body, request.headers["content-type"])["file"] == [expected]


def test_query_styles_and_cookies_and_inline_response_model(shapes: ModuleType, client: object, server: ScriptedServer) -> None:
    server.reply(Reply(body={"data": [FILE], "has_more": False}))
    page = client.files.list(filter={"purpose": "batch", "owner": "me"}, ids=["a", "b"], session="xyz")  # type: ignore[attr-defined]
    request = server.requests[0]
    query = parse_qsl(urlsplit(request.path).query)
    assert query == [("filter[purpose]", "batch"), ("filter[owner]", "me"), ("ids", "a,b")]
    assert request.headers["cookie"] == "session=xyz"
    assert isinstance(page, shapes.types.ListFilesResponse)
    assert isinstance(page.data[0], shapes.types.File)


def test_binary_response_is_bytes_and_path_is_encoded(client: object, server: ScriptedServer) -> None:
    server.reply(Reply(body=b"\x00\x01binary", headers={"content-type": "application/octet-stream"}))
    content = client.files.content("dir/with space")  # type: ignore[attr-defined]
    request = server.requests[0]
    assert content == b"\x00\x01binary"
    assert request.path == "/files/dir%2Fwith%20space/content"
    assert unquote(request.path.split("/")[2]) == "dir/with space"
    assert request.headers["accept"] == "application/octet-stream"


def test_binary_response_streams_to_a_file(client: object, server: ScriptedServer, tmp_path: Path) -> None:
    server.reply(Reply(chunks=[b"part1-", b"part2"], headers={"content-type": "application/octet-stream"}))
    target = tmp_path / "download.bin"
    with client.files.with_streaming_response.content("f") as response:  # type: ignore[attr-defined]
        with target.open("wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
    assert target.read_bytes() == b"part1-part2"


def test_action_and_nested_resources_and_form_body_and_204(client: object, server: ScriptedServer) -> None:
    server.reply(Reply(body={"id": "job-1", "status": "done"}), Reply(status=204), Reply(body=[{"message": "hi"}]))
    job = client.jobs.cancel("job-1")  # type: ignore[attr-defined]
    assert job.status == "done"
    assert client.jobs.events.create("job-1", message="hello world", level=3) is None  # type: ignore[attr-defined]
    events = client.jobs.events.list("job-1")  # type: ignore[attr-defined]
    assert events[0].message == "hi"
    cancel, form, listing = server.requests
    assert (cancel.method, cancel.path) == ("POST", "/jobs/job-1/cancel")
    assert form.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(form.body.decode()) == [("message", "hello world"), ("level", "3")]
    assert (listing.method, listing.path) == ("GET", "/jobs/job-1/events")


def test_fixed_query_from_the_paths_key_and_text_response(client: object, server: ScriptedServer) -> None:
    server.reply(Reply(body="plain answer", headers={"content-type": "text/plain"}))
    assert client.search.fast(q="cats") == "plain answer"  # type: ignore[attr-defined]
    request = server.requests[0]
    assert urlsplit(request.path).path == "/search"
    assert parse_qsl(urlsplit(request.path).query) == [("mode", "fast"), ("q", "cats")]
    assert request.headers["accept"] == "text/plain"


def test_async_upload(shapes: ModuleType, server: ScriptedServer) -> None:
    server.reply(Reply(body=FILE))

    async def run() -> object:
        async with shapes.AsyncShapes(api_key="u:p", base_url=server.base_url, max_retries=0) as client:
            return await client.files.upload(file=("a.txt", b"xyz"), purpose="p")

    assert asyncio.run(run()).id == "file-1"
    request = server.requests[0]
    assert multipart_parts(request.body, request.headers["content-type"])["file"] == [("a.txt", b"xyz")]


def test_non_string_header_values_use_the_simple_style(client: object, server: ScriptedServer) -> None:
    server.reply(Reply(status=204))
    client.request("get", "/anything", cast_to=None, headers={"X-Ids": ["a", "b"], "X-Count": 3, "X-On": True})  # type: ignore[attr-defined]
    headers = server.requests[0].headers
    assert (headers["x-ids"], headers["x-count"], headers["x-on"]) == ("a,b", "3", "true")


def test_other_request_content_types_are_named_in_the_docstring(tmp_path: Path) -> None:
    import json

    from generator.config import Config

    spec = {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "paths": {"/pets": {"post": {
            "operationId": "createPet",
            "requestBody": {"content": {
                "application/json": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "application/xml": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}},
            }},
            "responses": {"204": {"description": "ok"}},
        }}},
    }
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    files = generate(path, Config(spec="openapi.json", package="t", client_class="T"))
    resource = next(text for p, text in files.items() if p.name == "pets.py")
    assert "Sends application/json; the API also accepts application/xml" in resource
