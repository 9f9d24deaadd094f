"""Run the simulator on its own: ``python -m livecart.simulator --port 8081 --bot TOKEN:USERNAME``.

For manual testing against a bot started elsewhere (``LIVECART_TELEGRAM_API_URL`` pointing here).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from livecart.simulator.limits import LimitSettings
from livecart.simulator.server import run_simulator
from livecart.simulator.state import Simulator


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m livecart.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--bot",
        action="append",
        default=[],
        metavar="TOKEN:USERNAME",
        help="register a bot, e.g. 123456:ABC-def:shop_bot (repeatable)",
    )
    parser.add_argument("--enforce-limits", action="store_true", help="answer 429 like Telegram")
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    simulator = Simulator(limits=LimitSettings(enforce=args.enforce_limits))
    for spec in args.bot:
        token, _, username = spec.rpartition(":")
        simulator.register_bot(token, username)
    async with run_simulator(args.host, args.port, simulator=simulator) as server:
        print(f"Telegram simulator at {server.base_url} (control API docs: /control/docs)")
        await asyncio.Event().wait()


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_parse_args()))


if __name__ == "__main__":
    main()
