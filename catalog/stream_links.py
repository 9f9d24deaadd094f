"""Stream links: "watch the stream" goes through `/s/{token}`, which counts the tap and
redirects. The token is opaque and random: it reveals neither the customer nor the show."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import NotFound
from catalog.models import Show, StreamLink


async def stream_link_token(
    session: AsyncSession, *, show_id: int, customer_id: int | None, source: str, now: datetime
) -> str:
    """The token for this customer, show and message source (the same one every time)."""
    query = select(StreamLink.token).where(
        StreamLink.show_id == show_id,
        StreamLink.source == source,
        StreamLink.customer_id.is_(None)
        if customer_id is None
        else StreamLink.customer_id == customer_id,
    )
    token = await session.scalar(query)
    if token is not None:
        return token
    token = secrets.token_urlsafe(12)
    try:
        async with session.begin_nested():
            session.add(
                StreamLink(
                    token=token,
                    show_id=show_id,
                    customer_id=customer_id,
                    source=source[:80],
                    created_at=now,
                    clicks=0,
                )
            )
            await session.flush()
    except IntegrityError:  # rendered twice at once
        again = await session.scalar(query)
        if again is None:
            raise
        return again
    return token


async def follow_stream_link(session: AsyncSession, token: str, *, now: datetime) -> str:
    """Count one tap and return the stream's URL; NotFound for an unknown token or a show
    without a stream."""
    link = await session.scalar(select(StreamLink).where(StreamLink.token == token))
    if link is None:
        raise NotFound("stream link", token)
    show = await session.get(Show, link.show_id)
    if show is None or not show.stream_url:
        raise NotFound("stream", token)
    await session.execute(
        update(StreamLink)
        .where(StreamLink.id == link.id)
        .values(clicks=StreamLink.clicks + 1)
        .execution_options(synchronize_session=False)
    )
    if link.first_clicked_at is None:
        await session.execute(
            update(StreamLink)
            .where(StreamLink.id == link.id, StreamLink.first_clicked_at.is_(None))
            .values(first_clicked_at=now)
            .execution_options(synchronize_session=False)
        )
    return show.stream_url


async def stream_link_tokens(
    session: AsyncSession, *, show_id: int, source: str, customer_ids: list[int], now: datetime
) -> dict[int, str]:
    """Tokens for many customers of one show and source at once (a fan-out batch): the
    existing ones, and new ones written in one statement. Returns customer id -> token."""
    tokens: dict[int, str] = {}
    if not customer_ids:
        return tokens
    rows = await session.execute(
        select(StreamLink.customer_id, StreamLink.token).where(
            StreamLink.show_id == show_id,
            StreamLink.source == source,
            StreamLink.customer_id.in_(customer_ids),
        )
    )
    for customer_id, token in rows.all():
        if customer_id is not None:
            tokens[int(customer_id)] = token
    missing = [cid for cid in dict.fromkeys(customer_ids) if cid not in tokens]
    if not missing:
        return tokens
    new = {cid: secrets.token_urlsafe(12) for cid in missing}
    try:
        async with session.begin_nested():
            await session.execute(
                insert(StreamLink),
                [
                    {
                        "token": token,
                        "show_id": show_id,
                        "customer_id": cid,
                        "source": source[:80],
                        "created_at": now,
                        "clicks": 0,
                    }
                    for cid, token in new.items()
                ],
            )
    except IntegrityError:  # another sender made some of them: take one at a time
        for cid in missing:
            tokens[cid] = await stream_link_token(
                session, show_id=show_id, customer_id=cid, source=source, now=now
            )
        return tokens
    tokens.update(new)
    return tokens
