"""QR image cost per order: livecart's QR (segno, cached per payload) against qrcode's default
`qrcode.make(...).save()` measured in the same run.

    .venv/bin/python bench/qr.py [--orders 300]

Each order has its own pay link; each link is asked for twice (the chat message and the pay
page), as happens in practice; the cache makes the second ask free.
"""

from __future__ import annotations

import argparse
import io
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qrcode

from catalog.qr import qr_png


def qrcode_default(payload: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(payload).save(buffer)
    return buffer.getvalue()


def per_order(render: object, links: list[str], asks: int) -> tuple[float, int]:
    start = time.perf_counter()
    size = 0
    for link in links:
        for _ in range(asks):
            size = len(render(link))  # type: ignore[operator]
    return (time.perf_counter() - start) / len(links) * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    args = parser.parse_args()
    links = [f"https://shop.example.kr/pay/{secrets.token_urlsafe(16)}" for _ in range(args.orders)]
    base_ms, base_size = per_order(qrcode_default, links, asks=2)
    ours_ms, ours_size = per_order(qr_png, links, asks=2)
    cold_links = [f"https://shop.example.kr/pay/{secrets.token_urlsafe(16)}" for _ in links]
    cold_ms, _ = per_order(qr_png, cold_links, asks=1)
    print(f"QR per order ({args.orders} orders, PNG, asked twice each)")
    print(f"qrcode default          {base_ms:7.2f} ms/order  {base_size:6d} bytes")
    print(f"livecart (segno+cache)  {ours_ms:7.2f} ms/order  {ours_size:6d} bytes")
    print(f"livecart first render   {cold_ms:7.2f} ms/order")
    print(
        f"ratio livecart / qrcode default: {ours_ms / base_ms:.2f}x time, "
        f"{ours_size / base_size:.2f}x bytes"
    )


if __name__ == "__main__":
    main()
