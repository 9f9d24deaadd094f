"""Finding products by what a customer types outside an order: "사가" finds 사과 in every open
shop of the market, as buttons to tap.

The name is matched forgivingly (catalog.text_match: spacing, width, case, and typos of one or
two Hangul syllables or jamo). Only what is for sale is searched: visible products of open
shops. Never raises on any text.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.models import Product, Shop
from catalog.order_text import name_variants, product_search_words
from catalog.text_match import CONFIDENT_SCORE, Match, match_products

#: how many products one answer offers (each is a big button)
MAX_RESULTS = 8
#: a market's catalogue searched at most this large (a city campaign has a few thousand)
MAX_SEARCHED = 20_000


def rank_names(query: str, names: list[tuple[int, str]], *, limit: int = MAX_RESULTS) -> list[int]:
    """The keys of the names `query` may mean, best first: close typos and better, or failing
    those, the "did you mean" jamo neighbours. The query is read as typed and without a
    trailing ending ("사과요"), whichever matches better. Never raises."""
    matches: list[Match[int]] = []
    for variant in name_variants(query) or [query]:
        found = match_products(variant, names, limit=limit)
        if found and (not matches or found[0].score > matches[0].score):
            matches = found
    confident = [match.key for match in matches if match.score >= CONFIDENT_SCORE]
    return confident or [match.key for match in matches]


async def search_products(
    session: AsyncSession, text: str, *, market_id: int | None = None, limit: int = MAX_RESULTS
) -> list[Product]:
    """Products for sale (in the market's open shops, or every open shop) whose name the text
    means, best first; empty when the text is not a bare product name (an order, a number, a
    cancel or a question is for parse_order_text)."""
    query = product_search_words(text)
    if query is None:
        return []
    statement = (
        select(Product)
        .join(Shop, Shop.id == Product.shop_id)
        .where(Product.is_hidden.is_(False), Shop.is_open.is_(True))
        .options(selectinload(Product.shop))
        .order_by(Shop.id, Product.position, Product.id)
        .limit(MAX_SEARCHED)
    )
    if market_id is not None:
        statement = statement.where(Shop.market_id == market_id)
    products = {product.id: product for product in await session.scalars(statement)}
    keys = rank_names(
        query, [(key, product.name) for key, product in products.items()], limit=limit
    )
    return [products[key] for key in keys]
