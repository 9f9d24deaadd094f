"""A Telegram Bot API simulator: an HTTP server a bot cannot tell from Telegram.

Bots talk to ``{base}/bot<token>/<method>`` as they would to api.telegram.org; tests and the
demo act as users through ``{base}/control`` (``SimulatorClient``). Everything is in memory.
"""

from livecart.simulator.app import create_simulator_app
from livecart.simulator.client import SimulatorClient, SimulatorControlError, describe_chat
from livecart.simulator.limits import LimitSettings
from livecart.simulator.server import RunningServer, SimulatorServer, run_simulator, serve_app
from livecart.simulator.state import Simulator
from livecart.simulator.webhook import RetryPolicy

__all__ = [
    "LimitSettings",
    "RetryPolicy",
    "RunningServer",
    "Simulator",
    "SimulatorClient",
    "SimulatorControlError",
    "SimulatorServer",
    "create_simulator_app",
    "describe_chat",
    "run_simulator",
    "serve_app",
]
