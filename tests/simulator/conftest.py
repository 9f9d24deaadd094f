"""Fixtures for the simulator's own tests: a real server on a free port, real clients.

Starting uvicorn and aiogram's session costs a few hundred milliseconds, so each test module
shares one server and one client of each kind (the ``module_*`` fixtures), and the per-test
fixtures reset the simulated world first: every test starts with no users, chats, limits,
faults, webhook or commands. Test modules using them run in the module's event loop:
``pytestmark = pytest.mark.asyncio(loop_scope="module")``.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import telegram
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from PIL import Image

from livecart.simulator import SimulatorClient, SimulatorServer, run_simulator
from livecart.simulator.models import BotAccount

BOT_TOKEN = "7000000001:AAH-livecart_simulator_test"
BOT_USERNAME = "livecart_test_bot"


class _PlainHttpSession(AiohttpSession):
    """aiogram's session minus its 250 ms wait for TLS connections to close on ``close()``:
    the simulator speaks plain HTTP, so there is nothing to wait for."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_sim_server() -> AsyncIterator[SimulatorServer]:
    async with run_simulator() as server:
        server.simulator.register_bot(BOT_TOKEN, BOT_USERNAME, "라이브카트")
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_sim(module_sim_server: SimulatorServer) -> AsyncIterator[SimulatorClient]:
    async with module_sim_server.client() as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_aiogram_bot(module_sim_server: SimulatorServer) -> AsyncIterator[Bot]:
    session = _PlainHttpSession(api=TelegramAPIServer.from_base(module_sim_server.base_url))
    bot = Bot(BOT_TOKEN, session=session)
    yield bot
    await session.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_ptb_bot(module_sim_server: SimulatorServer) -> AsyncIterator[telegram.Bot]:
    bot = telegram.Bot(
        BOT_TOKEN,
        base_url=f"{module_sim_server.base_url}/bot",
        base_file_url=f"{module_sim_server.base_url}/file/bot",
    )
    async with bot:
        yield bot


@pytest_asyncio.fixture(loop_scope="module")
async def sim_server(module_sim_server: SimulatorServer) -> SimulatorServer:
    """The module's simulator, reset for this test."""
    await module_sim_server.simulator.reset(bot_settings=True)
    return module_sim_server


@pytest.fixture
def sim(module_sim: SimulatorClient, sim_server: SimulatorServer) -> SimulatorClient:
    """The control-API client, acting in a freshly reset simulator."""
    return module_sim


@pytest.fixture
def aiogram_bot(module_aiogram_bot: Bot, sim_server: SimulatorServer) -> Bot:
    return module_aiogram_bot


@pytest.fixture
def ptb_bot(module_ptb_bot: telegram.Bot, sim_server: SimulatorServer) -> telegram.Bot:
    return module_ptb_bot


@pytest.fixture
def bot_account(sim_server: SimulatorServer) -> BotAccount:
    """The registered bot, as the simulator knows it."""
    return sim_server.simulator.bots.resolve(BOT_USERNAME).account


@pytest_asyncio.fixture(loop_scope="module")
async def customer(sim: SimulatorClient) -> dict[str, Any]:
    return await sim.create_user(
        "민수", last_name="김", username="minsu_kim", phone_number="+821012345678"
    )


@pytest.fixture
def png() -> bytes:
    """A small real PNG (the simulator reads its size like Telegram does)."""
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()
