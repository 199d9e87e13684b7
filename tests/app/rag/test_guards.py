"""Loop and echo detection on real failure shapes of small models."""

from __future__ import annotations

from app.rag import guards


def test_a_sentence_repeated_until_max_tokens_is_a_loop():
    text = "The policy applies to all staff. " + "Claims are paid monthly. " * 4
    assert guards.repeats_itself(text)
    assert guards.cut_loop(text).endswith("Claims are paid monthly.")
    assert guards.cut_loop(text).count("Claims are paid monthly.") == 1


def test_chinese_loops_and_a_repeated_sentence_with_drifting_glue():
    assert guards.repeats_itself("保修期为两年。" + "请联系客服。" * 3)
    drift = "The limit is 220 EUR per night in London. Yes. The limit is 220 EUR per night in London. So " \
            "The limit is 220 EUR per night in London."
    assert guards.repeats_itself(drift)


def test_ordinary_answers_are_not_loops():
    assert not guards.repeats_itself("The hotel limit in London is 220 EUR per night [1]. Breakfast is included [1].")
    assert not guards.repeats_itself("1, 2, 3, 4, 5 and 6 are the steps.")
    assert not guards.repeats_itself("保修期为两年[1]。电池不在保修范围内[1]。")


def test_echoes_of_the_prompt_are_recognised():
    echo = "段落：\n[1] (产品常见问题.md — 保修)\nFieldLogger 的保修期为两年。\n\n问题：FieldLogger 的保修期是多长？"
    assert guards.echoes_prompt(echo, "FieldLogger 的保修期是多长？")
    assert guards.echoes_prompt("What is the hotel limit per night in London?", "What is the hotel limit per night in London?")
    assert guards.echoes_prompt("   ", "q") == "empty"
    assert guards.echoes_prompt("220 EUR per night [1].", "What is the hotel limit per night in London?") == ""
