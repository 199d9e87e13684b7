"""Sentences, numbers and names: the facts the citation check and the quoted answer compare."""

from __future__ import annotations

from app.rag import claims


def test_sentences_split_mixed_chinese_and_english_with_offsets():
    text = "The limit is 220 EUR. It covers breakfast!\n保修期为两年。电池不在保修范围内；请注意"
    spans = claims.split_sentences(text)
    assert [s.text for s in spans] == ["The limit is 220 EUR.", "It covers breakfast!", "保修期为两年。",
                                       "电池不在保修范围内；", "请注意"]
    for s in spans:
        assert text[s.start:s.end] == s.text


def test_decimal_points_and_abbreviations_do_not_end_a_sentence():
    spans = claims.split_sentences("Version 3.5 shipped, e.g. in Europe. Dr. Smith agreed.")
    assert [s.text for s in spans] == ["Version 3.5 shipped, e.g. in Europe.", "Dr. Smith agreed."]


def test_chinese_numerals_read_as_values():
    assert claims.chinese_number("三百八十") == 380
    assert claims.chinese_number("十二") == 12
    assert claims.chinese_number("两万") == 20000
    assert claims.chinese_number("一万二千") == 12000
    assert claims.chinese_number("二〇二三") == 2023


def test_numbers_match_across_scripts_and_multipliers():
    assert claims.numbers("保修期为两年") == {"2"}
    assert claims.numbers("保修期为2年") == {"2"}
    assert "12" in claims.numbers("延长到十二个月") and "12" in claims.numbers("延长到１２个月")
    assert "30000" in claims.numbers("3万元") and "30000" in claims.numbers("30,000 yuan")
    assert claims.numbers("统一管理，一些人") == set()  # numeral characters inside ordinary words
    assert "1.5" in claims.numbers("about 1.5 million")


def test_names_skip_the_sentence_opening_word_but_keep_acronyms_and_latin_in_chinese():
    assert claims.names("The hotel limit in London is set by Finance.") == {"london", "finance"}
    assert "eur" in claims.names("It is 220 EUR.")
    assert claims.names("FieldLogger 的保修期是两年") == {"fieldlogger"}


def test_support_needs_every_number_and_name_but_tolerates_paraphrase():
    passage = claims.PassageFacts("The hotel limit is 220 EUR per night in London, Paris and Tokyo.")
    good = claims.claims("In London you may spend 220 EUR a night.", "What is the hotel limit in London?")
    wrong_number = claims.claims("In London you may spend 150 EUR a night.", "What is the hotel limit in London?")
    wrong_city = claims.claims("In Berlin you may spend 220 EUR a night.", "What is the hotel limit?")
    assert claims.support(good, passage) >= 0.5
    assert claims.support(wrong_number, passage) == 0.0
    assert claims.support(wrong_city, passage) == 0.0


def test_chinese_support_compares_numbers_by_value():
    passage = claims.PassageFacts("FieldLogger 数据记录仪的保修期为 2 年，电池除外。")
    assert claims.support(claims.claims("保修期是两年[1]。", "FieldLogger 的保修期是多长？"), passage) >= 0.5
    assert claims.support(claims.claims("保修期是三年。", "FieldLogger 的保修期是多长？"), passage) == 0.0


def test_hard_wraps_join_but_list_items_and_headings_split():
    text = "The hotel limit is 220 EUR per night in London, Paris,\nNew York and Tokyo.\n1. Book early.\n- Keep receipts\n四、保修期多长？"
    assert [s.text for s in claims.split_sentences(text)] == [
        "The hotel limit is 220 EUR per night in London, Paris,\nNew York and Tokyo.", "1. Book early.",
        "- Keep receipts", "四、保修期多长？"]


def test_english_number_words_are_numbers_both_ways():
    assert claims.numbers("Miller had five solo tackles and twenty-one in all") == {"5", "21"}
    assert claims.numbers("one of the teams") == set()  # "one" is mostly a pronoun
    words = claims.PassageFacts("Miller had five solo tackles.")
    digits = claims.PassageFacts("Miller had 5 solo tackles.")
    q = "How many tackles did Miller have?"
    for answer in ("5.", "Five.", "Five solo tackles."):
        assert claims.support(claims.claims(answer, q), words) >= 0.5
        assert claims.support(claims.claims(answer, q), digits) >= 0.5
    assert claims.support(claims.claims("Seven.", q), words) == 0.0


def test_a_part_of_a_hyphenated_compound_is_found():
    passage = claims.PassageFacts('The league emphasized the "golden anniversary" with gold-themed initiatives.')
    assert claims.support(claims.claims("Gold.", "What color was used for the anniversary?"), passage) == 1.0
    assert claims.support(claims.claims("Silver.", "What color was used for the anniversary?"), passage) == 0.0
