"""Incremental Server-Sent Events decoder.

Implements the "event stream interpretation" rules of the WHATWG HTML
standard (section 9.2.6), written against bytes for speed:

* Lines end with ``\\n``, ``\\r`` or ``\\r\\n``; a ``\\r`` at the end of one
  chunk followed by ``\\n`` at the start of the next is a single terminator.
* The stream is UTF-8 (decoded with ``errors="replace"``); one leading BOM at
  the very start of the stream is skipped.  Because CR and LF never occur
  inside a multi-byte UTF-8 sequence, lines are split on bytes and only field
  values are decoded, so characters split across chunks need no special care.
* ``:`` starts a comment; ``field:value`` strips one leading space from the
  value; a line without a colon is a field with an empty value.
* ``event``, ``data`` (lines joined with ``\\n``), ``id`` (ignored if it
  contains NUL; persists across events) and ``retry`` (ASCII digits only) are
  understood; other fields are ignored.
* A blank line dispatches the event unless no ``data`` field was seen, in
  which case the event type is reset and nothing is dispatched.
* An event not terminated by a blank line when the stream ends is discarded.

The decoder only keeps the unterminated tail of the input, as a list of
pieces joined once the line completes, so decoding is linear in the input
size regardless of how it is chunked.
"""

from __future__ import annotations

from typing import Any, AsyncIterable, AsyncIterator, Iterable, Iterator, List, Optional, Tuple

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"


class ServerSentEvent:
    """One dispatched event.

    ``event`` is the event type (``"message"`` when the event had no, or an
    empty, ``event`` field).  ``id`` is the stream's last event ID at the time
    of dispatch (``None`` if the stream never set one; ``""`` if it was reset
    by an empty ``id`` field).  ``retry`` is the reconnection time in
    milliseconds given by a ``retry`` field inside this event, else ``None``.
    """

    __slots__ = ("event", "data", "id", "retry")

    def __init__(
        self,
        event: str = "message",
        data: str = "",
        id: Optional[str] = None,
        retry: Optional[int] = None,
    ) -> None:
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    def __repr__(self) -> str:
        return (
            f"ServerSentEvent(event={self.event!r}, data={self.data!r}, "
            f"id={self.id!r}, retry={self.retry!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (
            self.event == other.event
            and self.data == other.data
            and self.id == other.id
            and self.retry == other.retry
        )


class SSEDecoder:
    """Stateful, incremental decoder from raw bytes to :class:`ServerSentEvent`.

    Use one decoder per stream.  :meth:`feed` may be called with arbitrarily
    cut chunks; :meth:`iter_events` / :meth:`aiter_events` wrap it for
    (async) iterables of chunks.
    """

    __slots__ = (
        "_head",
        "_after_cr",
        "_pending",
        "_event",
        "_data",
        "_retry",
        "_last_event_id",
        "_reconnection_time",
    )

    def __init__(self) -> None:
        # Bytes seen so far while we cannot yet tell whether the stream
        # starts with a BOM; ``None`` once past that point.
        self._head: Optional[bytes] = b""
        # The previous chunk ended with CR: a leading LF belongs to it.
        self._after_cr = False
        # Pieces of the current, not yet terminated line.
        self._pending: List[bytes] = []
        # Per-event buffers.
        self._event: Optional[bytes] = None
        self._data: List[bytes] = []
        self._retry: Optional[int] = None
        # Stream-wide state.
        self._last_event_id: Optional[str] = None
        self._reconnection_time: Optional[int] = None

    @property
    def last_event_id(self) -> Optional[str]:
        """The last event ID set by the stream so far (``None`` if never set)."""
        return self._last_event_id

    @property
    def reconnection_time(self) -> Optional[int]:
        """The most recent valid ``retry`` value (ms), even from an event that
        was never dispatched; ``None`` if the stream never sent one."""
        return self._reconnection_time

    def feed(self, chunk: bytes) -> List[ServerSentEvent]:
        """Consume ``chunk`` and return the events it completed (maybe none)."""
        lines = self._lines(chunk)
        if not lines:
            return []
        return [
            ServerSentEvent(
                event.decode("utf-8", "replace") if event else "message",
                data.decode("utf-8", "replace"),
                last_id,
                retry,
            )
            for event, data, last_id, retry in self._process(lines, True)
        ]

    def feed_data(self, chunk: bytes) -> List[Tuple[Optional[bytes], bytes]]:
        """The fast path of :meth:`feed` for typed streams: ``(event type, data)`` pairs as raw
        UTF-8 bytes, the type ``None`` when the event had no (or an empty) ``event`` field.

        Decoding follows exactly the same rules; ``last_event_id`` and ``reconnection_time``
        are kept up to date as with :meth:`feed`.
        """
        if (
            self._head is None
            and not self._after_cr
            and not self._pending
            and not self._data
            and self._event is None
            and b"\r" not in chunk
        ):
            # At an event boundary with LF line ends: every ``\n\n`` in the chunk ends an event,
            # and an event that is one ``data: ...`` line (nearly every event of an LLM stream)
            # needs no line-by-line interpretation. Anything else goes the general way.
            blocks = chunk.split(b"\n\n")
            tail = blocks.pop()
            events: List[Tuple[Optional[bytes], bytes]] = []
            for block in blocks:
                if block[:6] == b"data: " and b"\n" not in block:
                    events.append((None, block[6:]))
                else:
                    lines = block.split(b"\n")
                    lines.append(b"")
                    events.extend(self._process(lines, False))
            if blocks:
                self._retry = None
            if tail:
                lines = self._lines(tail)
                if lines:
                    events.extend(self._process(lines, False))
            return events
        lines = self._lines(chunk)
        if not lines:
            return []
        return self._process(lines, False)

    def _lines(self, chunk: bytes) -> List[bytes]:
        """The lines ``chunk`` completes, without their terminators (maybe none)."""
        if self._head is not None:
            chunk = self._head + chunk
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._head = chunk
                return []
            self._head = None
            if chunk[:3] == _BOM:
                chunk = chunk[3:]
        if not chunk:
            return []
        if self._after_cr:
            self._after_cr = False
            if chunk[0] == 10:  # LF completing a CRLF split across chunks
                chunk = chunk[1:]
                if not chunk:
                    return []
        if b"\r" in chunk:
            self._after_cr = chunk[-1] == 13
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

        lines = chunk.split(b"\n")
        tail = lines.pop()
        pending = self._pending
        if not lines:
            # No terminator in this chunk (``tail`` is the whole, non-empty
            # chunk): just remember it; the line is joined once, when done.
            pending.append(tail)
            return lines
        if pending:
            pending.append(lines[0])
            lines[0] = b"".join(pending)
            pending.clear()
        if tail:
            pending.append(tail)
        return lines

    def _process(self, lines: List[bytes], full: bool) -> List[Any]:
        """Interpret complete lines. Each dispatched event is ``(type, data)`` as bytes, or with
        ``full`` ``(type, data, last event id, retry)``."""
        events: List[Any] = []
        data = self._data
        for line in lines:
            if not line:
                # Blank line: dispatch.
                if data:
                    joined = data[0] if len(data) == 1 else b"\n".join(data)
                    if full:
                        events.append((self._event, joined, self._last_event_id, self._retry))
                    else:
                        events.append((self._event or None, joined))
                    data = self._data = []
                self._event = None
                self._retry = None
                continue
            if line.startswith(b"data: "):  # fast path for the overwhelmingly common case
                data.append(line[6:])
                continue
            colon = line.find(b":")
            if colon == 0:  # comment
                continue
            if colon < 0:
                field = line
                value = b""
            else:
                field = line[:colon]
                colon += 1
                if line[colon : colon + 1] == b" ":
                    colon += 1
                value = line[colon:]
            if field == b"data":
                data.append(value)
            elif field == b"event":
                self._event = value
            elif field == b"id":
                if b"\0" not in value:
                    self._last_event_id = value.decode("utf-8", "replace")
            elif field == b"retry":
                if value.isdigit():  # bytes.isdigit() is ASCII-only; False if empty
                    try:
                        retry = int(value)
                    except ValueError:  # beyond sys.get_int_max_str_digits()
                        continue
                    self._retry = self._reconnection_time = retry
            # Any other field is ignored.
        return events

    def iter_events(self, chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
        """Decode an iterable of byte chunks.

        A trailing event without its terminating blank line is discarded.
        """
        feed = self.feed
        for chunk in chunks:
            yield from feed(chunk)

    async def aiter_events(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
        """Decode an async iterable of byte chunks (see :meth:`iter_events`)."""
        feed = self.feed
        async for chunk in chunks:
            for event in feed(chunk):
                yield event
