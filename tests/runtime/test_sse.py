"""Tests for the runtime SSE decoder (templates/runtime/_sse.py)."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import AsyncIterator, List, Optional, Sequence, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from templates.runtime._sse import ServerSentEvent, SSEDecoder

BOM = b"\xef\xbb\xbf"


def decode(*chunks: bytes) -> List[ServerSentEvent]:
    return list(SSEDecoder().iter_events(chunks))


def datas(events: Sequence[ServerSentEvent]) -> List[str]:
    return [e.data for e in events]


def bytewise(payload: bytes) -> List[bytes]:
    return [payload[i : i + 1] for i in range(len(payload))]


def ev(data: str, event: str = "message", id: Optional[str] = None, retry: Optional[int] = None) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


# --------------------------------------------------------------------------
# ServerSentEvent
# --------------------------------------------------------------------------


def test_event_defaults_repr_and_equality() -> None:
    e = ServerSentEvent(data="x")
    assert (e.event, e.data, e.id, e.retry) == ("message", "x", None, None)
    assert e == ServerSentEvent(event="message", data="x", id=None, retry=None)
    assert e != ServerSentEvent(data="x", id="1")
    assert e != ServerSentEvent(data="x", retry=1)
    assert e != ServerSentEvent(event="other", data="x")
    assert e != "x"
    assert repr(ServerSentEvent(event="e", data="d", id="1", retry=5)) == (
        "ServerSentEvent(event='e', data='d', id='1', retry=5)"
    )
    assert not hasattr(e, "__dict__")  # __slots__


# --------------------------------------------------------------------------
# Line endings
# --------------------------------------------------------------------------


def test_lf_line_endings() -> None:
    assert decode(b"data: a\ndata: b\n\ndata: c\n\n") == [ev("a\nb"), ev("c")]


def test_cr_line_endings() -> None:
    assert decode(b"data: a\rdata: b\r\rdata: c\r\r") == [ev("a\nb"), ev("c")]


def test_crlf_line_endings() -> None:
    assert decode(b"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n") == [ev("a\nb"), ev("c")]


def test_mixed_line_endings() -> None:
    assert decode(b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\n\n") == [ev("a\nb\nc"), ev("d")]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"data: a\r", b"\ndata: b\r\n\r\n"],
        [b"data: a\r", b"", b"\ndata: b\r\n\r\n"],
        [b"data: a\r", b"\n", b"data: b\r", b"\n\r", b"\n"],
        [b"data: a", b"\r", b"\n", b"data: b", b"\r", b"\n", b"\r", b"\n"],
    ],
)
def test_crlf_split_across_chunks_is_a_single_terminator(chunks: List[bytes]) -> None:
    # If the LF after a chunk-final CR counted as another line ending, the
    # blank line would dispatch "a" on its own.
    assert decode(*chunks) == [ev("a\nb")]


def test_cr_at_chunk_end_terminates_the_line_immediately() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\r") == [ev("a")]
    # A following chunk not starting with LF is a fresh line.
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"\r") == [ev("b")]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"])
def test_only_cr_and_lf_are_line_terminators(char: str) -> None:
    # str.splitlines() would split on all of these (bytes.splitlines() only on CR/LF).
    payload = f"data: a{char}b\n\n".encode()
    assert decode(payload) == [ev(f"a{char}b")]


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------


def test_utf8_character_split_across_chunks() -> None:
    text = "héllo wörld — 日本語 😀🎉"
    payload = f"event: ünï 😀\ndata: {text}\nid: ид😀\n\n".encode()
    expected = [ev(text, event="ünï 😀", id="ид😀")]
    assert decode(*bytewise(payload)) == expected
    # Cut in the middle of the 4-byte emoji specifically.
    emoji_at = payload.index("😀".encode())
    for k in range(1, 4):
        assert decode(payload[: emoji_at + k], payload[emoji_at + k :]) == expected


def test_invalid_utf8_is_replaced() -> None:
    events = decode(b"data: a\xffb\ndata: \xe6\x97\n\n")  # stray byte; truncated 3-byte char
    assert events == [ev("a\ufffdb\n\ufffd")]
    assert decode(b"event: \xc3\nid: \xff\ndata: x\n\n") == [ev("x", event="\ufffd", id="\ufffd")]


@pytest.mark.parametrize("cut", [0, 1, 2, 3, 4])
def test_leading_bom_is_skipped(cut: int) -> None:
    payload = BOM + b"data: x\n\n"
    assert decode(payload[:cut], payload[cut:]) == [ev("x")]
    assert decode(*bytewise(payload)) == [ev("x")]
    assert decode(b"", BOM, b"data: x\n\n") == [ev("x")]


def test_bom_is_only_skipped_once_and_only_at_stream_start() -> None:
    # A second BOM becomes part of the field name "\ufeffdata" -> unknown field.
    assert decode(BOM + BOM + b"data: x\n\ndata: y\n\n") == [ev("y")]
    # A BOM later in the stream is not special.
    assert decode(b"data: x\n\n" + BOM + b"data: y\n\ndata: z\n\n") == [ev("x"), ev("z")]
    assert decode(b"data: \xef\xbb\xbfx\n\n") == [ev("\ufeffx")]
    # A partial BOM is just (invalid) bytes of the first line.
    assert decode(b"\xef\xbb", b"data: x\n\ndata: y\n\n") == [ev("y")]
    assert decode(b"da", b"ta: x\n\n") == [ev("x")]


# --------------------------------------------------------------------------
# Field parsing
# --------------------------------------------------------------------------


def test_comment_lines_are_ignored() -> None:
    payload = b": keep-alive\ndata: a\n:data: nope\n: \n:\ndata: b\n\n:only comment\n\n"
    assert decode(payload) == [ev("a\nb")]


def test_exactly_one_leading_space_is_stripped_from_the_value() -> None:
    assert decode(b"data:x\n\n") == [ev("x")]
    assert decode(b"data: x\n\n") == [ev("x")]
    assert decode(b"data:  x \n\n") == [ev(" x ")]
    assert decode(b"data:\tx\n\n") == [ev("\tx")]
    assert decode(b"event:  sp\ndata:x\n\n") == [ev("x", event=" sp")]
    assert decode(b"id:  7\ndata:x\n\n") == [ev("x", id=" 7")]


def test_only_the_first_colon_separates_field_and_value() -> None:
    assert decode(b"data: a: b:c\n\n") == [ev("a: b:c")]
    assert decode(b"data:: x\n\n") == [ev(": x")]


def test_line_without_colon_is_a_field_with_empty_value() -> None:
    assert decode(b"data\n\n") == [ev("")]
    assert decode(b"data\ndata\ndata: x\n\n") == [ev("\n\nx")]
    assert decode(b"event: custom\nevent\ndata: x\n\n") == [ev("x", event="message")]
    assert decode(b"id: 5\nid\ndata: x\n\n") == [ev("x", id="")]


def test_field_names_are_case_sensitive_and_exact() -> None:
    assert decode(b"Data: x\nDATA: y\ndata : z\n data: w\ndata: ok\n\n") == [ev("ok")]


def test_event_field_sets_the_type_and_defaults_to_message() -> None:
    assert decode(b"event: update\ndata: x\n\ndata: y\n\n") == [ev("x", event="update"), ev("y")]
    assert decode(b"event:\ndata: x\n\n") == [ev("x")]
    assert decode(b"event: a\nevent: b\ndata: x\n\n") == [ev("x", event="b")]


def test_multiple_data_lines_are_joined_with_lf() -> None:
    assert decode(b"data: a\ndata: b\ndata:\ndata: c\n\n") == [ev("a\nb\n\nc")]


def test_id_persists_across_events() -> None:
    decoder = SSEDecoder()
    events = list(
        decoder.iter_events([b"data: a\n\nid: 1\ndata: b\n\ndata: c\n\nid: 2\n\ndata: d\n\ndata: e\nid: 3\n\n"])
    )
    assert events == [ev("a"), ev("b", id="1"), ev("c", id="1"), ev("d", id="2"), ev("e", id="3")]
    assert decoder.last_event_id == "3"


def test_id_containing_nul_is_ignored() -> None:
    events = decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\nid: \x00\ndata: c\n\n")
    assert events == [ev("a", id="1"), ev("b", id="1"), ev("c", id="1")]
    # NUL elsewhere is fine.
    assert decode(b"data: a\x00b\n\n") == [ev("a\x00b")]


def test_empty_id_resets_the_last_event_id() -> None:
    assert decode(b"id: 1\ndata: a\n\nid:\ndata: b\n\n") == [ev("a", id="1"), ev("b", id="")]


def test_retry_accepts_ascii_digits_only() -> None:
    decoder = SSEDecoder()
    assert decoder.reconnection_time is None
    assert decoder.feed(b"retry: 1500\ndata: a\n\n") == [ev("a", retry=1500)]
    assert decoder.reconnection_time == 1500
    # Retry belongs to the event it appeared in.
    assert decoder.feed(b"data: b\n\n") == [ev("b")]
    assert decoder.reconnection_time == 1500
    assert decoder.feed(b"retry: 007\ndata: c\n\n") == [ev("c", retry=7)]


@pytest.mark.parametrize(
    "value",
    [b"", b"12a", b"-1", b"+1", b"1.5", b"1_000", b" 12", b"12 ", b"0x10", "\u0661\u0662".encode(), "１".encode()],
)
def test_invalid_retry_is_ignored(value: bytes) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 10\ndata: a\n\nretry: " + value + b"\ndata: b\n\n") == [
        ev("a", retry=10),
        ev("b"),
    ]
    assert decoder.reconnection_time == 10


def test_absurdly_long_retry_is_ignored_not_an_error() -> None:
    # Python >= 3.11 (and patched 3.9/3.10) refuse int() on > 4300 digits.
    [event] = decode(b"retry: " + b"9" * 10_000 + b"\ndata: a\n\n")
    assert event.data == "a"
    assert event.retry is None or event.retry == 10**10_000 - 1


def test_retry_in_undispatched_event_updates_reconnection_time() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 3000\n\n") == []
    assert decoder.reconnection_time == 3000
    assert decoder.feed(b"data: a\n\n") == [ev("a")]


def test_unknown_fields_are_ignored() -> None:
    assert decode(b"foo: bar\ndata: a\nbaz\nretryx: 1\nids: 9\n\n") == [ev("a")]
    assert decode(b"foo: bar\n\n") == []


# --------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------


def test_blank_line_dispatches_the_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"data: b\n") == []
    assert decoder.feed(b"\n") == [ev("a\nb")]
    assert decoder.feed(b"data: c\n\ndata: d\n\n") == [ev("c"), ev("d")]


def test_event_without_data_is_not_dispatched_but_resets_the_type() -> None:
    assert decode(b"event: ping\n\ndata: x\n\n") == [ev("x")]
    assert decode(b"event: ping\nid: 4\n\n\n\n") == []
    # But the id set by the undispatched block persists.
    assert decode(b"id: 4\n\ndata: x\n\n") == [ev("x", id="4")]


def test_empty_data_field_is_dispatched() -> None:
    assert decode(b"data:\n\n") == [ev("")]
    assert decode(b"data: \n\n") == [ev("")]
    assert decode(b"event: done\ndata\n\n") == [ev("", event="done")]


def test_incomplete_event_at_end_of_stream_is_discarded() -> None:
    assert decode(b"data: a\n\ndata: b\n") == [ev("a")]
    assert decode(b"data: a\n\ndata: b") == [ev("a")]
    assert decode(b"data: a\n\ndata: b\r") == [ev("a")]
    assert decode(b"event: x\ndata: b\ndata: c\n") == []


def test_decoder_state_is_kept_across_feed_calls() -> None:
    decoder = SSEDecoder()
    out: List[ServerSentEvent] = []
    for piece in [b"ev", b"ent: t\nda", b"ta: 1", b"23\ni", b"d: 9\n", b"\n"]:
        out.extend(decoder.feed(piece))
    assert out == [ev("123", event="t", id="9")]


# --------------------------------------------------------------------------
# Async
# --------------------------------------------------------------------------


def test_aiter_events() -> None:
    payload = (BOM + "data: héllo\r\n\r\nevent: e\ndata: 😀\rid: 1\r\rdata: tail".encode())

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 3):
            await asyncio.sleep(0)
            yield payload[i : i + 3]

    async def collect() -> List[ServerSentEvent]:
        return [e async for e in SSEDecoder().aiter_events(chunks())]

    assert asyncio.run(collect()) == [ev("héllo"), ev("😀", event="e", id="1")]


# --------------------------------------------------------------------------
# Property test: arbitrary events, line endings and byte-level chunking
# --------------------------------------------------------------------------

# Line content: anything but CR/LF.  Built from a list of "tokens" because
# st.text(alphabet=one_of(...)) almost never picks the interesting specials
# (emoji, a leading space, NUL, BOM, Unicode line separators).
_text = st.lists(
    st.one_of(
        st.sampled_from(["é", "😀", "🎉", "日", ":", " ", "\x00", "\ufeff", "\u2028", "\x85", "\x0b"]),
        st.characters(codec="utf-8", exclude_characters="\r\n"),
    ),
    max_size=12,
).map("".join)


@dataclass
class Block:
    event: Optional[str]
    data: List[str]
    id: Optional[str]
    retry: Optional[int]
    comment: Optional[str]
    compact: List[bool] = field(default_factory=list)  # per field: "name:value" vs "name: value"


_blocks = st.builds(
    Block,
    event=st.none() | _text,
    data=st.lists(_text, max_size=4),
    id=st.none() | _text,
    retry=st.none() | st.integers(min_value=0, max_value=10**12),
    comment=st.none() | _text,
    compact=st.lists(st.booleans(), min_size=8, max_size=8),
)


def _field(name: str, value: str, compact: bool) -> str:
    if compact and not value.startswith(" "):
        return f"{name}:{value}" if value or name == "data" else name
    return f"{name}: {value}"


def _block_lines(b: Block) -> List[str]:
    flags = iter(b.compact * 2)
    lines: List[str] = []
    if b.comment is not None:
        lines.append(":" + b.comment)
    if b.event is not None:
        lines.append(_field("event", b.event, next(flags)))
    lines.extend(_field("data", d, next(flags)) for d in b.data)
    if b.id is not None:
        lines.append(_field("id", b.id, next(flags)))
    if b.retry is not None:
        lines.append(_field("retry", str(b.retry), next(flags)))
    return lines


def _expected(blocks: List[Block]) -> List[ServerSentEvent]:
    last_id: Optional[str] = None
    out: List[ServerSentEvent] = []
    for b in blocks:
        if b.id is not None and "\x00" not in b.id:
            last_id = b.id
        if b.data:
            out.append(ServerSentEvent(event=b.event or "message", data="\n".join(b.data), id=last_id, retry=b.retry))
    return out


@st.composite
def _streams(draw: st.DrawFn) -> Tuple[bytes, List[ServerSentEvent]]:
    blocks = draw(st.lists(_blocks, max_size=6))
    lines: List[str] = []
    for b in blocks:
        lines.extend(_block_lines(b))
        lines.append("")  # dispatch
    trailing = draw(st.lists(_text.map(lambda t: "data: " + t), max_size=2))
    lines.extend(trailing)  # an unterminated event: must be discarded
    out: List[str] = []
    previous = ""
    for line in lines:
        choices = ["\n", "\r", "\r\n"]
        if line == "" and previous == "\r":
            # "\r" + "\n" would be read as a single CRLF: the blank line would vanish.
            choices = ["\r", "\r\n"]
        previous = draw(st.sampled_from(choices))
        out.append(line + previous)
    unterminated: bool = draw(st.booleans())
    if trailing and unterminated:
        out[-1] = trailing[-1]  # last line not even terminated
    payload = "".join(out).encode("utf-8")
    if draw(st.booleans()):
        payload = BOM + payload
    return payload, _expected(blocks)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=_streams(), data=st.data())
def test_property_any_chunking_decodes_like_whole_stream(
    stream: Tuple[bytes, List[ServerSentEvent]], data: st.DataObject
) -> None:
    payload, expected = stream
    cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), max_size=max(1, len(payload) // 2))))
    bounds = [0, *cuts, len(payload)]
    chunks = [payload[a:b] for a, b in zip(bounds, bounds[1:])]  # may include empty chunks
    assert b"".join(chunks) == payload

    whole = SSEDecoder().feed(payload)
    assert whole == expected
    assert list(SSEDecoder().iter_events(chunks)) == expected
    assert list(SSEDecoder().iter_events(bytewise(payload))) == expected


def _as_pairs(events: Sequence[ServerSentEvent]) -> List[Tuple[str, str]]:
    return [(e.event, e.data) for e in events]


def _data_pairs(decoder: SSEDecoder, chunks: Sequence[bytes]) -> List[Tuple[str, str]]:
    """What ``feed_data`` (the typed streams' fast path) gives, in ``feed``'s terms."""
    pairs = [pair for chunk in chunks for pair in decoder.feed_data(chunk)]
    return [(event.decode("utf-8", "replace") if event else "message", data.decode("utf-8", "replace")) for event, data in pairs]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=_streams(), data=st.data(), lf_only=st.booleans())
def test_property_feed_data_agrees_with_feed(
    stream: Tuple[bytes, List[ServerSentEvent]], data: st.DataObject, lf_only: bool
) -> None:
    payload, expected = stream
    if lf_only:  # the same line structure with LF ends only: exercises the block fast path
        payload = payload.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), max_size=max(1, len(payload) // 2))))
    bounds = [0, *cuts, len(payload)]
    chunks = [payload[a:b] for a, b in zip(bounds, bounds[1:])]
    # Cut right after blank lines (one or two events per chunk): chunks that start at an event
    # boundary, where feed_data takes its fast path.
    at_boundaries = [piece for piece in re.split(rb"(?<=\n\n)", payload) if piece]
    in_pairs = [b"".join(at_boundaries[i : i + 2]) for i in range(0, len(at_boundaries), 2)]
    for pieces in (chunks, [payload], bytewise(payload), at_boundaries, in_pairs):
        decoder = SSEDecoder()
        assert _data_pairs(decoder, pieces) == _as_pairs(expected)
        reference = SSEDecoder()
        reference_events = [e for piece in pieces for e in reference.feed(piece)]
        assert (decoder.last_event_id, decoder.reconnection_time) == (reference.last_event_id, reference.reconnection_time)
        assert _as_pairs(reference_events) == _as_pairs(expected)


def test_feed_data_fast_path_and_fallbacks() -> None:
    decoder = SSEDecoder()
    assert decoder.feed_data(b"") == []
    assert decoder.feed_data(b'data: {"a": 1}\n\ndata: x\n\nid: 7\nevent: error\ndata: y\ndata: z\n\ndata: par') == [
        (None, b'{"a": 1}'), (None, b"x"), (b"error", b"y\nz")]
    assert decoder.last_event_id == "7"
    assert decoder.feed_data(b"tial\n") == []
    assert decoder.feed_data(b"\nretry: 5\n\n: comment\n\ndata:no space\n\n") == [(None, b"partial"), (None, b"no space")]
    assert decoder.reconnection_time == 5
    assert decoder.feed_data(b"event:\ndata: a\r\n\r\n") == [(None, b"a")]


# --------------------------------------------------------------------------
# Linear time
# --------------------------------------------------------------------------

_CHUNK = 64 * 1024


def _huge_event(size: int, shape: str) -> bytes:
    if shape == "one line":
        return b"data: " + b"x" * size + b"\n\n"
    line = b"data: " + b"y" * 1018 + b"\r\n"  # 1 KiB lines, CRLF (exercises the CR path)
    return line * (size // len(line)) + b"\r\n"


def _best_decode_time(payload: bytes, repeat: int = 3) -> float:
    chunks = [payload[i : i + _CHUNK] for i in range(0, len(payload), _CHUNK)]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        events = list(SSEDecoder().iter_events(chunks))
        best = min(best, time.perf_counter() - start)
        assert len(events) == 1
        assert len(events[0].data) >= len(payload) - len(payload) // 100 - 16
    return best


@pytest.mark.parametrize("shape", ["one line", "many lines"])
def test_single_huge_event_decodes_in_linear_time(shape: str) -> None:
    mb = 1024 * 1024
    small = _best_decode_time(_huge_event(4 * mb, shape))
    large = _best_decode_time(_huge_event(16 * mb, shape))
    assert large < 10.0
    # 4x the input: linear ~4x, quadratic ~16x.  Floor the small timing so
    # scheduler noise on tiny durations cannot blow up the ratio (a quadratic
    # decoder needs seconds for 16 MB, far above the 0.05 s floor).
    assert large / max(small, 0.05) < 8, (small, large)
