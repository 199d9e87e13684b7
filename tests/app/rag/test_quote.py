"""The quoted answer picks the sentence that answers, in English and Chinese, and cites it."""

from __future__ import annotations

import numpy as np

from app.rag.quote import best_quote

POLICY = ("The hotel limit is 150 EUR per night in most cities and 220 EUR per night in London, Paris and Tokyo. "
          "Stays above the limit need your manager's approval before booking. Loyalty points may be kept.")
MEALS = "You receive a daily allowance of 45 EUR for meals on travel days. Alcohol is not reimbursed."


def test_the_sentence_holding_the_answer_is_quoted_with_its_passage_number():
    quote = best_quote("What is the hotel limit per night in London?", [(1, MEALS, 0.5), (2, POLICY, 0.8)])
    assert quote is not None
    assert "220 EUR per night in London" in quote.text
    assert quote.parts[0].n == 2
    part = quote.parts[0]
    assert POLICY[part.start:part.end] == part.text  # offsets point into the passage for highlighting
    assert "[2]" in quote.cited_text("en")


def test_a_number_question_prefers_the_sentence_with_a_number():
    text = ("Claims are approved by your manager. Submit your claim within 30 days of returning. "
            "Finance pays claims with the monthly salary.")
    quote = best_quote("How many days do I have to submit a claim?", [(1, text, 0.7)], max_sentences=1)
    assert quote.parts[0].text == "Submit your claim within 30 days of returning."


def test_chinese_question_finds_the_sentence_by_words_and_bigrams():
    faq = ("FieldLogger 是一款工业数据记录仪。FieldLogger 的保修期为两年，电池不在保修范围内。"
           "如需退货，请在 14 天内联系客服。")
    quote = best_quote("FieldLogger 的保修期是多长？", [(1, faq, 0.77)], max_sentences=1)
    assert "保修期为两年" in quote.text
    assert quote.cited_text("zh").endswith("[1]。")


def test_similarity_from_the_embedder_can_decide_between_lexical_ties():
    text = "Alpha beta gamma delta. Alpha beta gamma epsilon."
    calls = []

    def embed(texts):
        calls.append(len(texts))
        return np.array([[1.0, 0.0] if "epsilon" in t else [0.0, 1.0] for t in texts])

    quote = best_quote("alpha beta gamma", [(1, text, 0.5)], embed=embed, query_vec=np.array([1.0, 0.0]),
                       max_sentences=1)
    assert calls and quote.parts[0].text == "Alpha beta gamma epsilon."


def test_no_passages_no_quote():
    assert best_quote("anything", []) is None


def test_a_faq_heading_is_never_quoted_beside_its_answer():
    faq = "四、保修期多长？\n自购买之日起两年保修。保修不包括电池。"
    quote = best_quote("FieldLogger 的保修期是多久？", [(1, faq, 0.8)])
    assert all(not p.text.endswith("？") for p in quote.parts)
    assert "两年" in quote.text


GAME = ("Super Bowl 50 was an American football game to determine the champion of the National Football League. "
        "The Denver Broncos defeated the Carolina Panthers 24-10 to earn their third Super Bowl title. "
        "The game was played at Levi's Stadium in Santa Clara, California.")


def test_the_sentence_introducing_the_questions_subject_gives_way_to_the_one_answering():
    # It shares the most words with every question about the game, but answers only "what is it?".
    quote = best_quote("Which NFL team won Super Bowl 50?", [(1, GAME, 0.8)], max_sentences=1)
    assert quote.parts[0].text.startswith("The Denver Broncos defeated")
    quote = best_quote("What was Super Bowl 50?", [(1, GAME, 0.8)], max_sentences=1)
    assert quote.parts[0].text.startswith("Super Bowl 50 was an American football game")
