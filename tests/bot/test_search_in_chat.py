"""A customer types a product's name with a typo outside any order and gets the matching
products of the market's open shops as buttons; orders typed with numbers still go to the
typed orders."""

from __future__ import annotations

from tests.bot.conftest import Livecart, text_of


async def test_a_customer_types_a_name_with_a_typo_and_taps_the_product_found(
    livecart: Livecart,
) -> None:
    customer = await livecart.person("박순자")
    (answer,) = await customer.say("빈대똑")  # 빈대떡, one vowel off
    buttons = [b["text"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["녹두 빈대떡 · ₩5,000 · 순희네 빈대떡"], buttons

    await customer.tap("녹두 빈대떡")
    product = await customer.last()
    assert "녹두 빈대떡" in text_of(product) and product["message_id"] > answer["message_id"]

    # the shop is open now: numbers are orders from its list, not searches
    added = await customer.say("3번 2개")
    assert "생 막걸리 750ml 2개를 담았어요" in text_of(added[-1])

    (sold_out,) = await customer.say("마른 오징오")
    assert "품절" in sold_out["reply_markup"]["inline_keyboard"][0][0]["text"]

    (not_a_search,) = await customer.say("안녕하세요")  # nothing matches: the usual hint
    assert "3번 2개" in text_of(not_a_search)
