"""POST /api/v1/shops/{shop}/stock: idempotent, versioned stock updates from other channels."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Header, Response

from catalog.stock_sync import StockUpdate, apply_stock_batch, version_of
from webhook.deps import Authorized, NowDep, SessionDep, ShopDep
from webhook.schemas import StockBatchIn, StockBatchOut

router = APIRouter(
    prefix="/api/v1/shops/{shop}/stock", tags=["stock sync"], dependencies=[Authorized]
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="the same key and body again return the first answer (422 with another body)",
    ),
]


@router.post("", response_model=StockBatchOut)
async def post_stock(
    body: StockBatchIn,
    shop: ShopDep,
    session: SessionDep,
    now: NowDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> StockBatchOut:
    """Apply stock changes per sku: each item is applied, ignored as `stale` (its version is not
    newer than the one applied) or rejected with a reason; the rest of the batch applies."""
    items = [
        StockUpdate(
            sku=item.sku,
            version=version_of(item.version, item.occurred_at),
            set=item.set,
            delta=item.delta,
        )
        for item in body.items
    ]
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    answer, replayed = await apply_stock_batch(
        session,
        shop,
        items,
        now=now,
        idempotency_key=idempotency_key,
        request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return StockBatchOut.model_validate(answer)
