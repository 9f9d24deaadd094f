"""getFile: the file_path a bot then downloads from ``/file/bot<token>/<file_path>``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from livecart.simulator.bots import BotRuntime
from livecart.simulator.errors import bad_request
from livecart.simulator.models import JSON
from livecart.simulator.params import MethodParams
from livecart.simulator.telegram_json import file_json

if TYPE_CHECKING:
    from livecart.simulator.bot_api import MethodHandler
    from livecart.simulator.state import Simulator


async def get_file(sim: Simulator, bot: BotRuntime, params: MethodParams) -> JSON:
    stored = sim.files.get(params.text("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    return file_json(stored)


METHODS: dict[str, MethodHandler] = {"getFile": get_file}
