"""Word matching for routing and search."""

from __future__ import annotations

import pytest

from commands.questions.matching import Profile, score, stem, stems, words


class TestWords:
    def test_casefolds_and_drops_stopwords_and_punctuation(self) -> None:
        assert words("How do WE find Funding, for the cluster's S3?") == ["find", "funding", "cluster", "s3"]

    def test_slack_markup_is_just_words(self) -> None:
        assert words("<!channel> <@U123> <http://x|y>") == ["channel", "u123", "http"]

    @pytest.mark.parametrize(
        ("variants", "expected"),
        [
            (["cluster", "clusters", "Clusters"], 1),
            (["funding", "funded", "funds", "fund"], 1),
            (["strategy", "strategies"], 1),
            (["internationalisation", "internationalization"], 1),
            (["planning", "plans", "planned"], 1),
            (["process", "processes"], 1),
        ],
    )
    def test_variants_share_a_stem(self, variants: list[str], expected: int) -> None:
        assert len({stem(w.casefold()) for w in variants}) == expected

    def test_short_words_are_kept_whole(self) -> None:
        assert stem("bus") == "bus"
        assert stem("eu") == "eu"


class TestScore:
    def test_fields_weigh_three_two_one_and_add_up(self) -> None:
        question = stems("Funding for cluster tourism?")
        assert score(question, Profile(1, ("funding",), (), "")) == 3
        assert score(question, Profile(1, (), ("tourism",), "")) == 2
        assert score(question, Profile(1, (), (), "I ran a cluster.")) == 1
        assert score(question, Profile(1, ("Cluster funding",), ("Tourism",), "cluster work")) == 3 + 3 + 2 + 1

    def test_a_word_counts_once_per_field(self) -> None:
        assert score(stems("funding funding funds"), Profile(1, ("funding", "funds"), (), "")) == 3

    def test_no_shared_word_scores_zero(self) -> None:
        assert score(stems("Where is the coffee?"), Profile(1, ("funding",), ("energy",), "cluster manager")) == 0
