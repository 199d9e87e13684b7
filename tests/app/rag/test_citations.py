"""The citation check: corrected, added and unsupported sentences, in English and Chinese."""

from __future__ import annotations

from app.rag import citations
from app.rag.prompts import NOT_FOUND

PASSAGES = {
    1: "Hotels: the hotel limit is 150 EUR per night in most cities and 220 EUR per night in London and Paris.",
    2: "Meals: you receive a daily allowance of 45 EUR, or 60 EUR in high-cost cities.",
}


def test_a_correct_citation_stays_and_a_wrong_one_is_corrected():
    checked = citations.check("London hotels are limited to 220 EUR per night [2]. The meal allowance is 45 EUR [2].",
                              PASSAGES, "What are the travel limits?")
    assert [s.status for s in checked] == ["corrected", "supported"]
    assert checked[0].cited == [2] and checked[0].citations == [1]
    assert checked[1].citations == [2]


def test_an_uncited_supported_sentence_gets_its_citation_added():
    checked = citations.check("In high-cost cities the allowance is 60 EUR.", PASSAGES, "What is the meal allowance?")
    assert checked[0].status == "added" and checked[0].citations == [2]


def test_an_unsupported_sentence_is_marked_and_names_what_is_missing():
    checked = citations.check("The limit in London is 300 EUR [1]. Taxis to the airport are free [1].",
                              PASSAGES, "What is the hotel limit in London?")
    assert [s.status for s in checked] == ["unsupported", "unsupported"]
    assert "300" in checked[0].missing
    assert checked[0].citations == []


def test_rewrite_keeps_layout_and_puts_checked_citations_before_the_full_stop():
    answer = "- London: 220 EUR [2].\n- Meals: 45 EUR [2]."
    checked = citations.check(answer, PASSAGES, "What are the limits?")
    assert citations.rewrite(answer, checked) == "- London: 220 EUR [1].\n- Meals: 45 EUR [2]."
    assert citations.attach("保修期为两年。", [1]) == "保修期为两年[1]。"


def test_chinese_answer_with_chinese_numerals_and_a_bare_trailing_citation():
    passages = {1: "FieldLogger 数据记录仪的保修期为 2 年，电池除外。", 2: "退货须在 14 天内申请，运费 380 元由买方承担。"}
    checked = citations.check("保修期为两年。[2] 运费是三百八十元[2]。", passages, "FieldLogger 的保修期是多长？")
    assert [s.status for s in checked] == ["corrected", "supported"]
    assert checked[0].citations == [1]


def test_not_found_and_claimless_sentences_are_not_judged():
    checked = citations.check(f"Here is what I found: {NOT_FOUND['en']}", PASSAGES, "Who is the CEO?",
                              list(NOT_FOUND.values()))
    assert checked[-1].status == "not_found"
    checked = citations.check("Here is the answer:", PASSAGES, "q")
    assert checked[0].status == "no_claim"


def test_lead_ins_and_list_numbers_are_not_judged_and_offsets_follow_the_rewrite():
    answer = "Steps:\n1. Hotels in London cost 220 EUR [2].\n2. Meals cost 45 EUR [2]."
    checked = citations.check(answer, PASSAGES, "What are the steps?")
    assert [s.status for s in checked] == ["no_claim", "corrected", "supported"]
    final = citations.rewrite(answer, checked)
    for s in checked:
        assert final[s.start:s.end].startswith(s.text.rstrip(".")[:10])
    assert final[checked[1].start:checked[1].end] == "1. Hotels in London cost 220 EUR [1]."


def test_an_answer_is_unbacked_only_when_nothing_in_it_is_supported():
    invented = citations.check("The limit in London is 300 EUR [1].", PASSAGES, "What is the limit in London?")
    mixed = citations.check("The limit in London is 220 EUR [1]. Taxis are free.", PASSAGES, "What is the limit?")
    assert citations.unbacked(invented) and not citations.unbacked(mixed)
    assert not citations.unbacked(citations.check(NOT_FOUND["en"], PASSAGES, "q", list(NOT_FOUND.values())))


def test_numbers_with_decimals_and_units_are_checked_as_numbers():
    passages = {1: "它的面积约为0.304平方公里。", 2: "图书馆藏书81.6万册，其中以女性书刊资料为特色馆藏。"}
    checked = citations.check("0.304平方公里。81.6万册。", passages, "面积和藏书量是多少？")
    assert [(s.status, s.citations) for s in checked] == [("added", [1]), ("added", [2])]


def test_a_file_name_the_model_names_as_its_source_is_not_a_claim():
    passages = {1: "Employees receive twenty-five days of paid annual leave each year.",
                2: "Always connect to the company VPN before opening the payroll system."}
    # SmolLM2's answer, cut at max_tokens: the number and wording come from [1]; "txt" is not a claim.
    answer = ("The passage is: (leave.txt)\nEmployees receive twenty-five days of paid annual leave each year, "
              "which means they get")
    checked = citations.check(answer, passages, "How many days of annual leave do employees receive?")
    assert [(s.status, s.citations) for s in checked] == [("added", [1])]
    assert not citations.unbacked(checked)
    # The file name is dropped, not its sentence: a wrong number beside it is still caught.
    wrong = citations.check("(leave.txt) Employees receive 30 days of paid leave.", passages, "How many days?")
    assert wrong[0].status == "unsupported" and "30" in wrong[0].missing
