"""CSV import and export of products: all rows apply or none, bad rows named by line."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from catalog.errors import DomainError, InvalidInput
from catalog.models import Market, Product, Shop
from catalog.products import check_sku, upsert_product
from catalog.shops import check_slug, upsert_market, upsert_shop

HEADER = ("market", "shop", "sku", "name", "unit", "price", "stock", "description", "photo_url")
OPTIONAL = ("market_name", "shop_name")
MAX_ROWS = 50_000
_NUMBER_NOISE = re.compile(r"[\s,₩원]")


class CsvImportError(DomainError):
    """The file was refused as a whole; `problems` lists (line number, message)."""

    code = "csv_invalid"

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        lines = "; ".join(f"line {n}: {msg}" for n, msg in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} bad row(s): {lines}{more}")
        self.problems = problems


@dataclass(frozen=True)
class CsvRow:
    line: int
    market: str
    shop: str
    sku: str
    name: str
    unit: str
    price: int
    stock: int
    description: str
    photo_url: str
    market_name: str = ""
    shop_name: str = ""


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    shops_created: list[str] = field(default_factory=list)


def _whole_number(raw: str, column: str) -> int:
    text = _NUMBER_NOISE.sub("", raw)
    if not text.isdigit():
        raise InvalidInput(f"{column} must be a whole number, 0 or more (got {raw!r})", column)
    return int(text)


def parse_rows(text: str) -> list[CsvRow]:
    """Check every row before anything is written; raises CsvImportError naming each bad line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in HEADER if c not in columns]
    if missing:
        raise CsvImportError([(1, f"missing column(s): {', '.join(missing)}")])
    reader.fieldnames = columns
    rows: list[CsvRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for record in reader:
        line = reader.line_num
        if len(rows) + len(problems) >= MAX_ROWS:
            problems.append((line, f"more than {MAX_ROWS} rows; split the file"))
            break
        values = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}
        if not any(values.values()):
            continue  # a blank line
        try:
            if values["market"]:
                check_slug(values["market"])
            check_slug(values["shop"])
            check_sku(values["sku"])
            if not values["name"]:
                raise InvalidInput("name is empty", "name")
            photo = values["photo_url"]
            if photo and not photo.startswith(("https://", "http://")):
                raise InvalidInput("photo_url must be an http(s) URL", "photo_url")
            row = CsvRow(
                line=line,
                market=values["market"],
                shop=values["shop"],
                sku=values["sku"],
                name=values["name"][:200],
                unit=values["unit"][:40],
                price=_whole_number(values["price"], "price"),
                stock=_whole_number(values["stock"], "stock"),
                description=values["description"],
                photo_url=photo,
                market_name=values.get("market_name", ""),
                shop_name=values.get("shop_name", ""),
            )
        except InvalidInput as exc:
            problems.append((line, str(exc)))
            continue
        key = (row.shop, row.sku)
        if key in seen:
            problems.append(
                (line, f"sku {row.sku!r} of shop {row.shop!r} repeats line {seen[key]}")
            )
            continue
        seen[key] = line
        rows.append(row)
    if problems:
        raise CsvImportError(problems)
    return rows


async def import_products(session: AsyncSession, text: str, *, now: datetime) -> ImportSummary:
    """Create or update markets, shops and products from CSV text, in the caller's transaction.

    Guarantees: a file with any bad row changes nothing; a re-import updates rows in place.
    """
    rows = parse_rows(text)
    summary = ImportSummary()
    shops: dict[str, Shop] = {}
    markets: set[str] = set()
    for row in rows:
        if row.market and row.market not in markets:
            existing = await session.scalar(select(Market).where(Market.slug == row.market))
            if existing is None or row.market_name:
                await upsert_market(
                    session, slug=row.market, name=row.market_name or row.market, now=now
                )
            markets.add(row.market)
        shop = shops.get(row.shop)
        if shop is None:
            shop = await session.scalar(select(Shop).where(Shop.slug == row.shop))
            fields = {"name": row.shop_name} if row.shop_name or shop is None else {}
            if shop is None:
                fields["name"] = row.shop_name or row.shop
                summary.shops_created.append(row.shop)
            shop, _ = await upsert_shop(
                session, slug=row.shop, now=now, market_slug=row.market or None, fields=fields
            )
            shops[row.shop] = shop
        _, created = await upsert_product(
            session,
            shop,
            sku=row.sku,
            fields={
                "name": row.name,
                "unit": row.unit,
                "price": row.price,
                "stock": row.stock,
                "description": row.description,
                "photo_url": row.photo_url,
            },
            now=now,
        )
        if created:
            summary.created += 1
        else:
            summary.updated += 1
    return summary


async def export_products(session: AsyncSession, shop_slugs: Iterable[str] | None = None) -> str:
    """All products (or some shops') as CSV text with the import header: export, edit, import."""
    query = (
        select(Product)
        .join(Shop)
        .options(selectinload(Product.shop).selectinload(Shop.market))
        .order_by(Shop.slug, Product.position, Product.id)
    )
    if shop_slugs is not None:
        query = query.where(Shop.slug.in_(list(shop_slugs)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for product in await session.scalars(query):
        market = product.shop.market.slug if product.shop.market else ""
        writer.writerow(
            [
                market,
                product.shop.slug,
                product.sku,
                product.name,
                product.unit,
                product.price,
                product.available,
                product.description,
                product.photo_url,
            ]
        )
    return out.getvalue()
