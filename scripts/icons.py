#!/usr/bin/env python3
"""Draws Palaver's app icons (public/icon-192.png, public/icon-512.png): a white speech
bubble on the accent colour, full bleed so phones may mask it to any shape. Run once
when the design changes; the PNGs are kept in the repository."""
import struct, sys, zlib
from pathlib import Path

ACCENT = (0x3B, 0x5B, 0xDB)
WHITE = (0xFF, 0xFF, 0xFF)


def inside_bubble(x: float, y: float) -> bool:
    # A rounded rectangle (the bubble) and a small triangle below its left side (the tail),
    # in a unit square; the middle 60% is the "safe zone" masks keep.
    left, top, right, bottom, r = 0.24, 0.28, 0.76, 0.64, 0.08
    cx = min(max(x, left + r), right - r)
    cy = min(max(y, top + r), bottom - r)
    if left <= x <= right and top <= y <= bottom and (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
        return True
    # Tail: from (0.34, 0.64) and (0.46, 0.64) down to (0.32, 0.76).
    if 0.64 <= y <= 0.76:
        t = (y - 0.64) / 0.12
        return 0.34 - 0.02 * t <= x <= 0.46 - 0.14 * t
    return False


def png(size: int) -> bytes:
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            # 4 samples a pixel, for smooth edges.
            hits = sum(inside_bubble((i + dx) / size, (j + dy) / size) for dx in (0.25, 0.75) for dy in (0.25, 0.75))
            row.extend(round(a + (w - a) * hits / 4) for a, w in zip(ACCENT, WHITE))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    public = Path(sys.argv[0]).resolve().parent.parent / "public"
    for size in (192, 512):
        (public / f"icon-{size}.png").write_bytes(png(size))
        print(f"public/icon-{size}.png")
