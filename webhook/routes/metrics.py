"""GET /metrics: Prometheus text exposition of this process, plus figures from the database.

Open by default (bind livecart behind the proxy and don't route /metrics from the internet);
with LIVECART_METRICS_TOKEN set it wants `Authorization: Bearer <token>`, which Prometheus
sends with `authorization: {credentials: ...}` in its scrape config.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from webhook.deps import ContextDep
from webhook.observability import render_metrics
from webhook.problems import problem

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, ctx: ContextDep) -> Response:
    """The process's counters and histograms, and orders, outbox and webhook queues now."""
    if ctx.metrics_token:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {ctx.metrics_token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            response = problem(401, detail="metrics need Authorization: Bearer <token>")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
    body, content_type = await render_metrics(ctx)
    return Response(body, media_type=content_type)
