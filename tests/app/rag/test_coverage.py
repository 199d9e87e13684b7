"""Question coverage: do the passages name what the question asks about?"""

from app.rag.coverage import coverage, off_topic, question_terms


def test_a_chinese_subject_absent_from_every_passage_is_off_topic_and_named():
    c = coverage("芙蓉洞位于什么地方？", ["掸邦位于缅甸东部，是重要的军事重地。", "该洞穴长约两公里。"])
    assert off_topic(c) and c.missing == ("芙蓉洞",)


def test_the_subject_present_is_on_topic_though_the_question_words_are_not():
    # "哪些地区" frames the question; the passage answers it with other words.
    c = coverage("蓝线裸顶鲷分布在哪些地区？", ["蓝线裸顶鲷，俗名龙尖，本鱼见于印度太平洋区。"])
    assert not off_topic(c) and c.score == 1.0


def test_a_pointer_such_as_this_fish_is_not_a_name():
    assert question_terms("此鱼分布在哪些地区？") == []
    assert not off_topic(coverage("此鱼分布在哪些地区？", ["本鱼分布于印度太平洋区。"]))


def test_english_names_weigh_more_than_common_words():
    passages = ["The hotel limit is 150 EUR per night in most cities and 220 EUR in London."]
    assert not off_topic(coverage("What is the hotel limit per night in London?", passages))
    c = coverage("What is the hotel limit at Disneyland Tokyo?", passages)
    assert off_topic(c) and set(c.missing) == {"Disneyland", "Tokyo"}
    # Inflected forms count as present: "limits" in the question, "limit" in the passage.
    assert coverage("Which hotel limits are there?", passages).score == 1.0


def test_across_languages_the_check_does_not_apply():
    c = coverage("What is the hotel limit in London?", ["伦敦的酒店标准为每晚220欧元。"])
    assert not c.applies and not off_topic(c)
    assert not off_topic(coverage("伦敦的酒店标准是多少？", ["The hotel limit in London is 220 EUR."]))


def test_a_possessive_is_named_without_its_s():
    c = coverage("At what university's facility did the Panthers practice?", ["The Panthers practiced at home."])
    assert "university" in c.missing and "university's" not in c.missing
