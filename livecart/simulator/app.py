"""The simulator's ASGI app: Telegram's Bot API and file download, plus the control API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from livecart.simulator.bots import TOKEN_PATTERN
from livecart.simulator.control_api import build_control_router
from livecart.simulator.errors import ControlError, not_found, unauthorized
from livecart.simulator.params import MethodParams
from livecart.simulator.state import Simulator


def create_simulator_app(simulator: Simulator) -> FastAPI:
    """Serve ``simulator`` over HTTP.

    ``/bot<token>/<method>`` and ``/file/bot<token>/<path>`` speak Telegram's protocol; everything
    under ``/control`` is ours (OpenAPI at ``/control/docs``). Shutting the app down closes the
    simulator.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await simulator.aclose()

    app = FastAPI(
        title="livecart Telegram simulator",
        lifespan=lifespan,
        docs_url="/control/docs",
        openapi_url="/control/openapi.json",
        redoc_url=None,
    )
    app.state.simulator = simulator

    async def bot_api(request: Request) -> Response:
        reply = await simulator.api.call(
            request.path_params["token"],
            request.path_params["method"],
            lambda: MethodParams.from_request(request),
        )
        return JSONResponse(reply.body, status_code=reply.status_code)

    async def download_file(request: Request) -> Response:
        token = request.path_params["token"]
        if TOKEN_PATTERN.match(token) is None:
            error = not_found()
        elif simulator.bots.by_token(token) is None:
            error = unauthorized()
        else:
            stored = simulator.files.by_path(request.path_params["file_path"])
            if stored is not None:
                return Response(stored.content, media_type=stored.mime_type)
            error = not_found()
        return JSONResponse(error.to_json(), status_code=error.error_code)

    async def control_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, ControlError)
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    app.add_route("/bot{token}/{method}", bot_api, methods=["GET", "POST"], include_in_schema=False)
    app.add_route(
        "/file/bot{token}/{file_path:path}",
        download_file,
        methods=["GET"],
        include_in_schema=False,
    )
    app.add_exception_handler(ControlError, control_error)
    # The demo page may be served by livecart's own HTTP server on another port.
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]
    )
    app.include_router(build_control_router(simulator))
    return app
