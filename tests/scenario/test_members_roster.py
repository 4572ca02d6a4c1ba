"""`cba-bot import roster.csv`, `cba-bot export directory` and the demo profiles."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.console.fakeslack import FakeSlack
from bot.demo import load_demo
from bot.features import build_registry
from bot.kernel.settings import Settings
from bot.roster_cli import import_roster
from commands.common.csv_text import to_csv
from storage.models import AuditEntry, Cohort, Member, RoleGrant
from tests.factories import make_cohort
from tests.factories_members import make_profile, snapshot

HEADER = "email,name,role,cohort,organisation,country,region,sectors,expertise,linkedin\n"
GOOD = (
    "ana@example.org,Ana Silva,participant,CBA4,Lisbon Sea Cluster,PT,Lisboa,Blue economy;Tourism,Ports,https://www.linkedin.com/in/ana\n"
    "ben@example.org,Ben Weber,alumni,CBA2,Bavarian Auto Cluster,DE,Bavaria,Automotive,Funding,\n"
)
BAD = (
    "nobody-at-all,No Email,participant,CBA4,Nowhere Cluster,PT,,,,\n"  # line 4: bad e-mail
    "carl@example.org,Carl Jones,participant,CBA4,Texas Cluster,US,,,,\n"  # line 5: not eligible
    "dora@example.org,Dora Ek,wizard,CBA4,Some Cluster,SE,,,,\n"  # line 6: bad role
    "ana2@example.org,Ana Costa,participant,CBA4,Lisbon Sea Cluster,PT,,,,\n"  # line 7: same organisation
    "eve@example.org,Eve Laine,participant,CBA4,Helsinki Cluster,FI,,,,https://example.com/eve\n"  # line 8: bad URL
    "ghost@example.org,Gus Ghost,participant,CBA4,Ghost Cluster,IE,,,,\n"  # line 9: not in Slack
)


@pytest.fixture
def workspace(fake_slack: FakeSlack) -> None:
    for user_id, name, email in (
        ("U0ANA", "Ana Silva", "ana@example.org"),
        ("U0BEN", "Ben Weber", "ben@example.org"),
        ("U0ANA2", "Ana Costa", "ana2@example.org"),
        ("U0CARL", "Carl Jones", "carl@example.org"),
        ("U0EVE", "Eve Laine", "eve@example.org"),
    ):
        fake_slack.add_user(user_id, name, email=email)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


class TestImport:
    def test_good_rows_in_bad_rows_listed_by_line_and_idempotent(
        self,
        settings: Settings,
        workspace: None,
        tmp_path: Path,
        sessions: sessionmaker[Session],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        path = write(tmp_path, HEADER + GOOD + BAD)
        assert import_roster(settings, path, dry_run=False) == 1
        out, err = capsys.readouterr()
        assert "2 created" in out
        assert "6 row(s) refused" in out
        assert "new cohorts: CBA4, CBA2" in out
        lines = {int(line.split(":")[0].split()[1]): line for line in err.strip().splitlines()}
        assert set(lines) == {4, 5, 6, 7, 8, 9}
        assert "e-mail" in lines[4]
        assert "not eligible" in lines[5]
        assert "not a role" in lines[6]
        assert "one participant per cluster organisation per cohort" in lines[7]
        assert "LinkedIn" in lines[8]
        assert "no Slack user" in lines[9]
        with sessions() as session:
            ana = session.scalar(select(Member).where(Member.slack_id == "U0ANA"))
            assert ana is not None
            assert (ana.email, ana.country, ana.sectors, ana.expertise) == (
                "ana@example.org",
                "PT",
                ["Blue economy", "Tourism"],
                ["Ports"],
            )
            assert ana.visible is False  # imported profiles stay hidden until their owner opts in
            grants = session.execute(select(RoleGrant.role, Cohort.code).join(Cohort)).all()
            assert sorted(grants) == [("alumni", "CBA2"), ("participant", "CBA4")]
            assert session.scalar(select(func.count()).select_from(Member)) == 2
            entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "roster.import"))
            assert entry is not None
            assert entry.details["created"] == 2
            before = snapshot(session)
        assert import_roster(settings, path, dry_run=False) == 1
        out, _err = capsys.readouterr()
        assert "0 created, 0 updated, 2 unchanged" in out
        with sessions() as session:
            assert snapshot(session) == before

    def test_a_second_participant_from_an_organisation_already_in_the_cohort_is_refused(
        self,
        settings: Settings,
        workspace: None,
        tmp_path: Path,
        session: Session,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        cohort = make_cohort(session, "CBA4")
        make_profile(session, "U0OLD", "Old Timer", "participant", cohort=cohort, organisation="lisbon  SEA cluster")
        session.commit()
        before = snapshot(session)
        path = write(tmp_path, HEADER + GOOD.splitlines(keepends=True)[0])
        assert import_roster(settings, path, dry_run=False) == 1
        _out, err = capsys.readouterr()
        assert err.startswith("line 2:")
        assert "CBA4 already has a participant from Lisbon Sea Cluster" in err
        assert snapshot(session) == before

    def test_dry_run_changes_nothing(
        self,
        settings: Settings,
        workspace: None,
        tmp_path: Path,
        session: Session,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        before = snapshot(session)
        assert import_roster(settings, write(tmp_path, HEADER + GOOD), dry_run=True) == 0
        out, _err = capsys.readouterr()
        assert "would import: 2 created" in out
        assert "dry run" in out
        assert snapshot(session) == before

    def test_a_file_without_the_columns_is_refused_whole(
        self, settings: Settings, tmp_path: Path, session: Session, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = snapshot(session)
        assert import_roster(settings, write(tmp_path, "email,name\na@example.org,A\n"), dry_run=False) == 2
        assert "lacks the column(s) role" in capsys.readouterr().err
        assert snapshot(session) == before

    def test_the_cli_imports_with_a_slack_id_column_and_no_lookup(
        self,
        settings: Settings,
        fake_slack: FakeSlack,
        tmp_path: Path,
        sessions: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("DATABASE_URL", settings.database_url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
        text = HEADER.strip() + ",slack_id\n" + "zoe@example.org,Zoe Ray,coach,,Coaching Ltd,MT,,,,,U0ZOE\n"
        assert main(["import", str(write(tmp_path, text))]) == 0
        assert fake_slack.calls_to("users.lookupByEmail") == []
        with sessions() as session:
            zoe = session.scalar(select(Member).where(Member.slack_id == "U0ZOE"))
            assert zoe is not None
            assert zoe.organisation == "Coaching Ltd"

    def test_control_characters_and_nul_in_the_file_are_dropped(
        self, settings: Settings, workspace: None, tmp_path: Path, sessions: sessionmaker[Session]
    ) -> None:
        row = "ana@example.org,Ana\x00 Silva,participant,CBA4,Lisbon\x1b Sea Cluster,PT,Lis\x07boa,,,\r\n"
        assert import_roster(settings, write(tmp_path, HEADER + row), dry_run=False) == 0
        with sessions() as session:
            ana = session.scalars(select(Member).where(Member.email == "ana@example.org")).one()
            assert (ana.name, ana.organisation, ana.region) == ("Ana Silva", "Lisbon Sea Cluster", "Lisboa")


class TestDirectoryExport:
    def test_lists_every_member_visible_or_not_with_their_roles(self, session: Session) -> None:
        cba2, cba3 = make_cohort(session, "CBA2"), make_cohort(session, "CBA3")
        make_profile(
            session,
            "U0A",
            "Alma",
            "participant",
            cohort=cba3,
            email="alma@example.org",
            organisation="A Cluster",
            country="IT",
        )
        make_profile(
            session,
            "U0B",
            "Bert",
            "alumni",
            "coach",
            cohort=cba2,
            visible=False,
            email="bert@example.org",
            country="DE",
        )
        session.commit()
        export = build_registry().exporters.get("directory")
        assert export is not None
        rows = list(csv.reader(io.StringIO(to_csv(export(session, None)))))
        assert rows == [
            ["email", "name", "roles", "cohort", "organisation", "country"],
            ["alma@example.org", "Alma", "participant", "CBA3", "A Cluster", "IT"],
            ["bert@example.org", "Bert", "alumni;coach", "CBA2", "", "DE"],
        ]
        only = list(csv.reader(io.StringIO(to_csv(export(session, "cba2")))))
        assert [row[1] for row in only] == ["name", "Bert"]


class TestDemo:
    def test_demo_members_get_realistic_visible_profiles_idempotently(self, session: Session, clock: object) -> None:
        from datetime import UTC, datetime

        now = datetime(2026, 11, 25, tzinfo=UTC)
        load_demo(session, now, build_registry())
        session.commit()
        first = snapshot(session)
        load_demo(session, now, build_registry())
        session.commit()
        assert snapshot(session) == first
        members = list(session.scalars(select(Member)))
        assert members
        assert all(m.visible and m.organisation and m.country and m.expertise and m.bio for m in members)
        assert len({m.country for m in members}) >= 8
