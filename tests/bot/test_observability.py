"""What an operator sees while a customer orders and pays by card: /metrics moves (updates,
sends, orders by status, the payment event, HTTP requests), JSON log lines carry the update id
or the request id, and X-Request-ID comes back. One process runs the bot and the HTTP server."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from livecart.logs import configure_logging
from tests.bot.conftest import find_button
from tests.bot.test_customer_orders import wait_for_text
from tests.bot.test_online_payment import PayWorld, world  # noqa: F401  (the fixture)
from tests.bot.test_vendor_orders import order_an_apple, settle

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    return sum(
        v
        for (n, series), v in samples.items()
        if n == name and all((k, want) in series for k, want in labels.items())
    )


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    handler = configure_logging("json", "DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for old in saved[0]:
            root.addHandler(old)
        root.setLevel(saved[1])


async def test_an_order_paid_by_card_shows_in_metrics_and_in_json_logs(
    world: PayWorld,  # noqa: F811
    json_logs: io.StringIO,
) -> None:
    livecart = world.livecart
    http = httpx.AsyncClient(base_url=livecart.http_url, timeout=10)
    before = scrape((await http.get("/metrics")).text)

    customer = await livecart.person("김영희", "ko")
    await order_an_apple(customer)
    pay = find_button(await customer.last(), "결제하기")
    page = await world.browser.get(world.local(pay["url"]), headers={"X-Request-ID": "pay-42"})
    assert page.headers["x-request-id"] == "pay-42"
    request = (await world.browser.post(world.local(pay["url"]) + "/start")).json()
    await world.browser.post(f"{world.portone_url}/checkout", json=request)
    await world.browser.post(f"{world.portone_url}/checkout/{request['paymentId']}/pay")
    assert world.portone.webhooks_sent == [(request["paymentId"], 200)]
    await wait_for_text(customer, "결제 완료")
    await settle(livecart)

    scraped = await http.get("/metrics")
    assert scraped.headers["content-type"].startswith("text/plain")
    after = scrape(scraped.text)
    updates = "livecart_bot_update_duration_seconds_count"
    for kind in ("message", "callback_query"):
        assert value(after, updates, type=kind, outcome="handled") > value(
            before, updates, type=kind, outcome="handled"
        )
    # read from the database at scrape time: the order is paid, nothing waits to be sent
    assert value(after, "livecart_orders", status="paid") == 1
    assert value(after, "livecart_orders", status="pending_payment") == 0
    assert value(after, "livecart_outbox_unsent", lane="interactive") == 0
    assert value(after, "livecart_outbox_oldest_unsent_age_seconds", lane="interactive") == 0
    assert value(after, "livecart_database_up") == 1
    # the order message and "paid" went out through the outbox
    sends = "livecart_outbox_sends_total"
    sent = total(after, sends, lane="interactive") - total(before, sends, lane="interactive")
    assert sent >= 2
    paid = "livecart_payment_events_total"
    assert (
        total(after, paid, provider="portone", outcome="order_paid")
        - total(before, paid, provider="portone", outcome="order_paid")
        == 1
    )
    hook = {"method": "POST", "route": "/payments/{provider}/webhook", "status": "200"}
    assert value(after, "livecart_http_requests_total", **hook) == (
        value(before, "livecart_http_requests_total", **hook) + 1
    )
    assert (
        value(
            after, "livecart_http_requests_total", method="GET", route="/pay/{token}", status="200"
        )
        >= 1
    )

    generated = await http.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32  # made up when the caller sent none
    await http.aclose()

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    handled = [line for line in lines if line["logger"] == "bot.observability"]
    assert handled and all(isinstance(line["update_id"], int) for line in handled)
    assert any(line.get("request_id") == "pay-42" for line in lines)
