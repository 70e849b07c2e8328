"""Compressed inputs: gzip, zstd, bzip2 and xz decoded as they are read, damage and bombs
stopped.

`Decompressor` hands out every byte decoded before any damage and only then raises
`ArchiveDamaged`; it stops with `InflationLimitExceeded` when the output outgrows the
input `MAX_INFLATION` times past `INFLATION_FLOOR` bytes. `CountingReader` counts the
compressed bytes read, the measure of that ratio.
"""

from __future__ import annotations

import bz2
import io
import lzma
import sys
import zlib
from typing import IO, Any, Literal

import zstandard

from traceviz.ingest.interface import describe

# A compressed file may expand this many times, past INFLATION_FLOOR bytes, before it is
# taken for a decompression bomb and reading stops (real logs compress 5-50x).
MAX_INFLATION = 400
INFLATION_FLOOR = 256 * 1024 * 1024

Compression = Literal["gzip", "zstd", "bzip2", "xz"]
COMPRESSION_SUFFIXES: dict[str, Compression] = {
    ".gz": "gzip",
    ".gzip": "gzip",
    ".zst": "zstd",
    ".zstd": "zstd",
    ".bz2": "bzip2",
    ".xz": "xz",
}
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# bzip2: "BZh", the block size digit, then a block's magic (the digits of pi) or, for an
# empty stream, the end-of-stream magic (of sqrt(pi)): ten bytes no text log begins with
BZIP2_MAGIC = b"BZh"
BZIP2_BLOCKS = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
XZ_MAGIC = b"\xfd7zXZ\x00"
MAGIC_BYTES = 10  # what `compression` needs to see


def compression(magic: bytes) -> Compression | None:
    """The compression of a stream by its first `MAGIC_BYTES` bytes, or None when plain."""
    if magic[:2] == GZIP_MAGIC:
        return "gzip"
    if magic[:4] == ZSTD_MAGIC:
        return "zstd"
    if magic[:6] == XZ_MAGIC:
        return "xz"
    if magic[:3] == BZIP2_MAGIC and magic[3:4] in b"123456789" and magic[4:10] in BZIP2_BLOCKS:
        return "bzip2"
    return None


class InflationLimitExceeded(OSError):
    """A compressed input expands beyond `MAX_INFLATION` times its size: a likely bomb."""


class ArchiveDamaged(OSError):
    """A compressed input ends early or holds bytes that do not decode; every byte decoded
    before the damage has been handed out."""


class CountingReader(io.RawIOBase):
    """Counts the bytes read from the underlying (compressed) file."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer) or 0  # type: ignore[attr-defined]
        self.count += n
        return n

    def close(self) -> None:
        if self.raw is not sys.stdin.buffer:
            self.raw.close()
        super().close()


_GZIP_PIECE = 64 * 1024
# NOTE: zstd's decoder has no output cap, and an RLE block turns 4 bytes into 128 KiB:
# feeding 1 KiB at a time bounds one call's output to 32 MiB. bz2's and lzma's decoders
# lose a call's output when they raise, so they are fed 1 KiB at a time too: damage
# then costs at most what that KiB decodes to.
_PIECE = 1024
# zlib, bz2 and lzma decoders take an output cap (`max_length`); zstd's does not
_CAPPED = frozenset({"gzip", "bzip2", "xz"})
_DECODE_ERRORS = (zlib.error, zstandard.ZstdError, lzma.LZMAError, OSError, EOFError)


class Decompressor(io.RawIOBase):
    """The decoded bytes of a gzip (several members), zstd (several frames), bzip2 or xz
    (several streams) input.

    Unlike `gzip.GzipFile`, nothing decoded is thrown away when the input turns out
    damaged: every decoded byte is handed out first, then the next read raises
    `ArchiveDamaged` naming the compressed byte where decoding stopped (the file size
    when the archive is cut short). Stops with `InflationLimitExceeded` when the output
    outgrows the input `MAX_INFLATION` times past `INFLATION_FLOOR` bytes.

    NOTE: hand-written over the standard library's decoder objects, because its file
    classes (`gzip`, `bz2`, `lzma`) raise at damage and lose what the last read decoded.
    """

    def __init__(self, source: IO[bytes], compressed: CountingReader, kind: Compression) -> None:
        self.source = source
        self.compressed = compressed
        self.kind = kind
        self.count = 0  # decoded bytes handed out
        self._consumed = 0  # compressed bytes the decoders have taken in
        self._input = b""  # compressed bytes read, not yet fed to a decoder
        self._output = b""  # decoded bytes not yet handed out
        self._out_pos = 0
        self._open = False  # a member (frame, stream) is begun and not yet ended
        self._damage: ArchiveDamaged | None = None
        self._decoder: Any = self._new_decoder()

    def _new_decoder(self) -> Any:
        if self.kind == "gzip":
            return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        if self.kind == "bzip2":
            return bz2.BZ2Decompressor()
        if self.kind == "xz":
            return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        return zstandard.ZstdDecompressor().decompressobj()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        got = 0
        while got < len(view):
            if self._out_pos < len(self._output):
                n = min(len(self._output) - self._out_pos, len(view) - got)
                view[got : got + n] = self._output[self._out_pos : self._out_pos + n]
                self._out_pos += n
                got += n
                continue
            if self._damage is not None:
                if got:
                    break  # hand out what was decoded; raise on the next read
                raise self._damage
            try:
                piece = self._decode(len(view) - got)
            except ArchiveDamaged as exc:
                self._damage = exc
                continue
            if piece is None:
                break  # the archive ended cleanly
            self._output, self._out_pos = piece, 0
        self.count += got
        if self.count > INFLATION_FLOOR and self.count > MAX_INFLATION * self.compressed.count:
            msg = (
                f"decompression bomb: {self.count:,} bytes from "
                f"{self.compressed.count:,} compressed, more than {MAX_INFLATION:,}x; stopped"
            )
            raise InflationLimitExceeded(msg)
        return got

    def _more_input(self) -> bool:
        if not self._input:
            self._input = self.source.read1(_GZIP_PIECE)  # type: ignore[attr-defined]
        return bool(self._input)

    def _held(self) -> bytes | None:
        """What the decoder still holds to decode without new input (gzip's unconsumed
        tail; b"" for a bz2/xz decoder holding input past its last output cap), or None
        when it needs input."""
        if self.kind == "gzip":
            return self._decoder.unconsumed_tail or None
        if self.kind in _CAPPED and self._open and not self._decoder.needs_input:
            return b""
        return None

    def _decode(self, limit: int) -> bytes | None:
        """Some decoded bytes (at most `limit` but for zstd), or None at a clean end."""
        while True:
            held = self._held()
            if held is None and not self._more_input():
                if self._open:
                    msg = f"archive truncated at byte {self._consumed}"
                    raise ArchiveDamaged(msg)
                return None
            if not self._open and held is None:
                # zero padding after the last member, as gzip(1) and GzipFile allow
                self._input = self._input.lstrip(b"\x00")
                if not self._input:
                    continue
            start = self._consumed
            if held is not None:
                data = held
            elif self.kind == "gzip":
                data, self._input = self._input, b""
            else:
                data, self._input = self._input[:_PIECE], self._input[_PIECE:]
            self._open = True
            try:
                if self.kind in _CAPPED:
                    out = self._decoder.decompress(data, max_length=limit)
                else:
                    out = self._decoder.decompress(data)
            except _DECODE_ERRORS as exc:
                msg = f"corrupt {self.kind} data at byte {start}: {describe(exc)}"
                raise ArchiveDamaged(msg) from exc
            left = len(self._decoder.unconsumed_tail) if self.kind == "gzip" else 0
            if self._decoder.eof:
                rest = self._decoder.unused_data
                self._input = rest + self._input
                left += len(rest)
                self._decoder = self._new_decoder()
                self._open = False
            self._consumed = start + len(data) - left
            if out:
                return bytes(out)

    def close(self) -> None:
        self.source.close()
        super().close()
