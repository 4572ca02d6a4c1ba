"""The erasure contract: every table that holds member data, read from the schema, is covered by a
registered erasure step; every feature that covers tables also exports what they hold."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

from bot.features import build_registry
from bot.kernel.erasure import KERNEL_TABLES, covered_tables, fragments, member_tables
from bot.kernel.registry import Registry
from storage.models import Base


def uncovered(metadata: MetaData, registry: Registry) -> set[str]:
    return set(member_tables(metadata)) - covered_tables(registry.erasure_steps)


class TestMemberTables:
    def test_are_read_from_foreign_keys_and_person_columns(self) -> None:
        found = member_tables(Base.metadata)
        assert found["members"][0] == "*"
        assert "participant_id" in found["coaching_bookings"]
        assert "recipient" in found["reminders"]
        assert "actor_id" in found["audit_log"]
        assert "member_counts" not in found  # aggregates: nobody in them
        assert "processed_events" not in found
        assert "cohorts" not in found

    def test_every_one_is_covered_by_a_registered_erasure_step(self) -> None:
        assert uncovered(Base.metadata, build_registry()) == set()

    def test_a_new_table_with_a_member_key_and_no_step_fails_the_check(self) -> None:
        metadata = MetaData()
        for table in Base.metadata.sorted_tables:
            table.to_metadata(metadata)
        Table(
            "mentor_notes",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("member_id", ForeignKey("members.id")),
            Column("text", String(200)),
        )
        Table(
            "shout_outs",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("to_slack_id", String(32)),
        )
        assert uncovered(metadata, build_registry()) == {"mentor_notes", "shout_outs"}

    def test_a_step_that_declares_it_covers_it(self) -> None:
        metadata = MetaData()
        Table("members", metadata, Column("id", Integer, primary_key=True))
        Table(
            "mentor_notes",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("member_id", ForeignKey("members.id")),
        )
        registry = Registry()
        registry.erasure_step("notes", lambda erasure: None, tables=("members", "mentor_notes"))
        assert uncovered(metadata, registry) == set()
        assert uncovered(metadata, Registry()) == {"members", "mentor_notes"} - KERNEL_TABLES


class TestRegistration:
    def test_every_feature_with_member_tables_exports_them(self) -> None:
        registry = build_registry()
        steps = {step.name for step in registry.erasure_steps}
        assert steps == {"members", "events", "coaching", "homework", "questions"}
        # Each step's feature exports its part (members: the profile and the kernel's rows).
        assert {"profile", "roles", "audit_log", "messages", "events", "coaching", "homework", "questions"} <= set(
            registry.export_sections
        )

    def test_the_profile_goes_first(self) -> None:
        assert build_registry().erasure_steps[0].name == "members"

    def test_a_step_registered_twice_is_refused(self) -> None:
        registry = Registry()
        registry.erasure_step("x", lambda erasure: None, tables=())
        with pytest.raises(ValueError, match="registered twice"):
            registry.erasure_step("x", lambda erasure: None, tables=())


class TestFragments:
    def test_long_lines_as_typed_and_escaped_short_ones_left_out(self) -> None:
        found = fragments("Fish & chips for the whole cluster team tonight?\nok")
        assert "Fish & chips for the whole cluster team " in found
        assert "Fish &amp; chips for the whole cluster t" in found
        assert all(fragment != "ok" for fragment in found)
