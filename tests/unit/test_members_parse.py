"""Pure readers and normalisers of the members feature."""

from __future__ import annotations

import unicodedata

import pytest

from commands.common.errors import UsageError
from commands.members import parse
from commands.members.eligibility import COSME_ASSOCIATED, EU_MEMBER_STATES, ISO_COUNTRIES, is_eligible
from commands.members.fields import check_field, fold, normalise_tags, sort_key, tag_key, words
from commands.members.search import prefix_upper_bound


class TestFolding:
    def test_accents_and_case_fold_to_ascii(self) -> None:
        assert fold("Škoda STRAßE Ñandú") == "skoda strasse nandu"
        assert words("Pôle Véhicule du Futur, e-Mobility!") == ["pole", "vehicule", "du", "futur", "e", "mobility"]
        assert tag_key(" Smart-Mobility ") == tag_key("smart mobility") == "smart mobility"
        assert sort_key("Jan Novák") == "jannovak"

    def test_ascii_text_folds_as_the_full_decomposition_would(self) -> None:
        # fold() takes a shortcut for ASCII text; every ASCII character must come out as the long way gives it.
        every_ascii = "".join(map(chr, range(128)))
        decomposed = unicodedata.normalize("NFKD", every_ascii.casefold())
        slow = "".join(c for c in decomposed if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
        assert fold(every_ascii) == slow

    def test_tags_are_trimmed_deduplicated_and_kept_as_typed(self) -> None:
        assert normalise_tags(" ICT, Mobility ,ict,  Smart   mobility,, ") == ["ICT", "Mobility", "Smart mobility"]

    def test_too_many_or_too_long_tags_are_refused(self) -> None:
        with pytest.raises(ValueError, match="at most 20"):
            normalise_tags(",".join(f"tag{n}" for n in range(21)))
        with pytest.raises(ValueError, match="longer than 50"):
            normalise_tags("x" * 51)

    @pytest.mark.parametrize(
        ("prefix", "bound"), [("mob", "moc"), ("az", "b"), ("a9", "aa"), ("zz", None), ("z", None), ("9", "a")]
    )
    def test_prefix_upper_bound_stays_in_the_alphabet(self, prefix: str, bound: str | None) -> None:
        assert prefix_upper_bound(prefix) == bound


class TestFields:
    def test_country_is_an_iso_code(self) -> None:
        assert check_field("country", " it ").value == "IT"
        assert check_field("country", "none").value is None
        for bad in ("ITA", "Italy", "ZZ", "EL"):
            with pytest.raises(ValueError, match="ISO 3166"):
                check_field("country", bad)

    def test_links(self) -> None:
        assert check_field("linkedin", "<https://www.linkedin.com/in/a|me>").value == "https://www.linkedin.com/in/a"
        assert check_field("eccp", "https://clustercollaboration.eu/x").value == "https://clustercollaboration.eu/x"
        with pytest.raises(ValueError, match="LinkedIn"):
            check_field("linkedin", "https://evil-linkedin.com.example/in/a")
        with pytest.raises(ValueError, match="web link"):
            check_field("eccp", "javascript:alert(1)")

    def test_flags_and_text(self) -> None:
        assert check_field("visible", "YES").value is True
        assert check_field("questions", "no").column == "accepts_questions"
        with pytest.raises(ValueError, match="cannot be empty"):
            check_field("name", "   ")
        with pytest.raises(ValueError, match="longer than 600"):
            check_field("bio", "x" * 601)


class TestEligibility:
    def test_eu_and_cosme_associated_countries_are_eligible(self) -> None:
        assert len(EU_MEMBER_STATES) == 27
        assert EU_MEMBER_STATES | COSME_ASSOCIATED <= ISO_COUNTRIES
        assert is_eligible("it")
        assert is_eligible("UA")
        assert is_eligible("NO")
        assert not is_eligible("US")
        assert not is_eligible("GB")
        assert not is_eligible(None)


class TestParseProfile:
    def test_subcommands(self) -> None:
        assert isinstance(parse.parse_profile(""), parse.EditProfile)
        assert parse.parse_profile("<@U0ABC|abc>") == parse.ShowCard("U0ABC")
        assert isinstance(parse.parse_profile("EXPORT"), parse.ExportMine)
        assert isinstance(parse.parse_profile("delete"), parse.DeleteMine)
        command = parse.parse_profile("set Organization  Piedmont  Cluster")
        assert isinstance(command, parse.SetField)
        assert command.value.value == "Piedmont Cluster"

    def test_the_texts_that_write_are_known_before_the_transaction(self) -> None:
        # They begin with the write lock (a deferred SQLite transaction that writes late may run twice).
        assert [parse.profile_writes(t) for t in ("SET region X", " export", "", "<@U0ABC>", "delete")] == [
            True,
            True,
            False,
            False,
            False,
        ]

    @pytest.mark.parametrize("text", ["set shoe 42", "set country XX", "delete everything", "<@U0A> <@U0B>", "hello"])
    def test_bad_input_raises_usage(self, text: str) -> None:
        with pytest.raises(UsageError) as caught:
            parse.parse_profile(text)
        assert caught.value.usage
        assert "/cba-profile" in caught.value.usage


class TestParseDirectory:
    def test_words_and_filters(self) -> None:
        query = parse.parse_directory(
            'Mobility  Torino country:it role:Alumni cohort:cba2 expertise:"Smart Mobility" sector:ICT'
        )
        assert query.words == ("mobility", "torino")
        assert (query.country, query.role, query.cohort) == ("IT", "alumni", "CBA2")
        assert query.expertise == ("smart mobility",)
        assert query.sectors == ("ict",)
        assert parse.parse_directory("").is_empty

    @pytest.mark.parametrize("text", ["colour:red", "country:XX", "role:king", "cohort:", "cohort:a/b", "sector:--"])
    def test_bad_filters_raise_usage(self, text: str) -> None:
        with pytest.raises(UsageError):
            parse.parse_directory(text)


class TestParseRole:
    def test_grant_and_remove(self) -> None:
        assert parse.parse_role("<@U0A|a> Coach cba3") == parse.GrantRole("U0A", "coach", "CBA3")
        assert parse.parse_role("<@U0A> alumni") == parse.GrantRole("U0A", "alumni", None)
        assert parse.parse_role("remove <@U0A> coach") == parse.RemoveRole("U0A", "coach")

    @pytest.mark.parametrize(
        "text", ["", "<@U0A>", "<@U0A> king", "bob coach", "remove <@U0A> coach CBA2", "<@U0A> coach A B"]
    )
    def test_bad_input_raises_usage(self, text: str) -> None:
        with pytest.raises(UsageError):
            parse.parse_role(text)
