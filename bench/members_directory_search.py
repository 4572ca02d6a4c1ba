"""Directory search at 1k, 10k and 100k members on SQLite and PostgreSQL: p50/p95 of typical searches.

Usage (from the repository root):
    python bench/members_directory_search.py [--pg postgresql://postgres@127.0.0.1:5432/test] [--sizes 1000,10000,100000]
Writes its section of bench/RESULTS.md. Each size gets a fresh, migrated database, seeded with bulk inserts
(executemany on SQLite, COPY on PostgreSQL) of members, roles, search terms and sort keys computed by the
same code the bot uses (commands.members.search.member_terms).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.results import write_result

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from commands.members.fields import sort_key  # noqa: E402
from commands.members.parse import parse_directory  # noqa: E402
from commands.members.search import Viewer, counts, member_terms, search, tally_members  # noqa: E402
from storage.db import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Member, apply_member_counts  # noqa: E402

FIRST = [
    "Anna",
    "Marco",
    "Sofie",
    "Jan",
    "Elena",
    "Pierre",
    "Lucia",
    "Tomas",
    "Ines",
    "Mikko",
    "Maria",
    "Jonas",
    "Eva",
    "Luca",
    "Ana",
    "Piotr",
    "Katarzyna",
    "Nikos",
    "Giulia",
    "Lars",
    "Ingrid",
    "Matej",
    "Zsofia",
    "Dragan",
    "Ioana",
    "Sven",
    "Clara",
    "Hugo",
    "Emma",
    "Oskar",
    "Petra",
    "Milan",
    "Irena",
    "Rui",
    "Joana",
    "Ville",
    "Aino",
    "Karel",
    "Hana",
    "Bogdan",
    "Andreea",
    "Stefan",
    "Laura",
    "Paolo",
    "Chiara",
    "Miguel",
    "Carmen",
    "Dimitra",
    "Kostas",
    "Liis",
]
LAST = [
    "Berg",
    "Rossi",
    "Jensen",
    "Novak",
    "Popescu",
    "Dubois",
    "Garcia",
    "Kovac",
    "Santos",
    "Virtanen",
    "Muller",
    "Schmidt",
    "Nowak",
    "Horvath",
    "Papadopoulos",
    "Fernandez",
    "Silva",
    "Costa",
    "Bianchi",
    "Ricci",
    "Lambert",
    "Martin",
    "Bernard",
    "Moreau",
    "Laurent",
    "Janssen",
    "Peeters",
    "Maes",
    "Nielsen",
    "Hansen",
    "Larsen",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Korhonen",
    "Makinen",
    "Kowalski",
    "Wojcik",
    "Dvorak",
    "Svoboda",
    "Balogh",
    "Toth",
    "Nagy",
    "Ionescu",
    "Radu",
    "Petrov",
    "Ivanov",
    "Georgiou",
    "Murphy",
    "Kelly",
    "Walsh",
    "Byrne",
    "Ozols",
    "Kalnins",
    "Tamm",
    "Saar",
    "Borg",
    "Camilleri",
    "Weber",
    "Wagner",
]
REGIONS = [
    "Piedmont",
    "Lombardy",
    "Bavaria",
    "Catalonia",
    "Flanders",
    "Wallonia",
    "Brittany",
    "Occitanie",
    "Saxony",
    "Silesia",
    "Moravia",
    "Transylvania",
    "Andalusia",
    "Tuscany",
    "Lapland",
    "Uusimaa",
    "Attica",
    "Macedonia",
    "Dalmatia",
    "Styria",
    "Tyrol",
    "Jutland",
    "Scania",
    "Munster",
    "Leinster",
    "Lisboa",
    "Norte",
    "Galicia",
    "Aragon",
    "Navarre",
]
SECTORS = [
    "Mobility",
    "Automotive",
    "Aerospace",
    "ICT",
    "Digital health",
    "Agri-food",
    "Energy",
    "Clean tech",
    "Blue economy",
    "Tourism",
    "Textiles",
    "Plastics",
    "Bioeconomy",
    "Forestry",
    "Construction",
    "Logistics",
    "Creative industries",
    "Advanced manufacturing",
    "Photonics",
    "Microelectronics",
    "Medtech",
    "Biotech",
    "Chemicals",
    "Water",
    "Space",
    "Defence",
    "Retail",
    "Furniture",
    "Wine",
    "Circular economy",
]
EXPERTISE = [
    "Funding",
    "Internationalisation",
    "Smart specialisation",
    "Business models",
    "Membership fees",
    "Service portfolio",
    "Cluster excellence labelling",
    "Green transition",
    "Digital transformation",
    "Supply chains",
    "Horizon Europe",
    "Interreg",
    "Stakeholder engagement",
    "Open innovation",
    "Skills",
    "Foresight",
    "Public procurement",
    "Investor relations",
    "Startups",
    "Communication",
    "Events",
    "Governance",
    "Strategy",
    "Benchmarking",
    "Matchmaking",
    "Policy",
    "Standards",
    "Export",
    "Training",
    "Mentoring",
    "Data spaces",
    "Industry 4.0",
    "Hydrogen",
    "Batteries",
    "Recycling",
    "Food safety",
    "Ports",
    "Smart mobility",
    "Tourism marketing",
    "Cybersecurity",
]
COUNTRIES = [
    "IT",
    "DE",
    "FR",
    "ES",
    "PL",
    "CZ",
    "RO",
    "PT",
    "FI",
    "SE",
    "DK",
    "BE",
    "NL",
    "AT",
    "GR",
    "HU",
    "SK",
    "SI",
    "HR",
    "BG",
    "LT",
    "LV",
    "EE",
    "IE",
    "LU",
    "MT",
    "CY",
    "NO",
    "IS",
    "UA",
    "RS",
    "MK",
    "AL",
]
BIO_WORDS = [
    "cluster",
    "manager",
    "members",
    "companies",
    "projects",
    "regional",
    "european",
    "innovation",
    "collaboration",
    "network",
    "growth",
    "export",
    "research",
    "universities",
    "startups",
    "partners",
    "training",
    "services",
    "value",
    "chain",
    "funding",
    "strategy",
    "digital",
    "green",
    "skills",
    "internationalisation",
    "procurement",
    "events",
    "matchmaking",
    "support",
    "ecosystem",
    "industry",
    "smes",
    "public",
    "private",
    "policy",
    "excellence",
    "quality",
    "sustainable",
    "circular",
    "energy",
    "transition",
    "platform",
    "community",
    "years",
    "experience",
    "leading",
    "team",
    "building",
    "joint",
    "programmes",
    "agreements",
    "partnerships",
    "markets",
    "regions",
    "national",
    "international",
    "development",
]
ROLES = ("participant", "participant", "participant", "alumni", "alumni", "coach")
COHORTS = ("CBA1", "CBA2", "CBA3", "CBA4")
VISIBLE_SHARE = 0.6

QUERIES: tuple[tuple[str, str], ...] = (
    ("common word", "mobility"),
    ("name prefix", "novak"),
    ("two words", "funding lombardy"),
    ("word prefix (3 letters)", "hyd"),
    ("country + role", "country:IT role:alumni"),
    ("cohort + expertise tag", 'cohort:CBA3 expertise:"smart specialisation"'),
    ("word + sector + country", "export sector:aerospace country:DE"),
    ("no match", "zzzyx"),
)


def fake_member(rng: random.Random, member_id: int) -> tuple[Member, str, str | None]:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    member = Member(
        id=member_id,
        slack_id=f"U{member_id:09d}",
        name=name,
        email=f"member{member_id}@example.org",
        organisation=f"{rng.choice(REGIONS)} {rng.choice(SECTORS)} Cluster",
        country=rng.choice(COUNTRIES),
        region=rng.choice(REGIONS),
        sectors=rng.sample(SECTORS, rng.randint(1, 2)),
        expertise=rng.sample(EXPERTISE, rng.randint(1, 4)),
        bio=" ".join(rng.choice(BIO_WORDS) for _ in range(rng.randint(8, 18))).capitalize() + ".",
        visible=rng.random() < VISIBLE_SHARE,
        erased_at=None,
    )
    role = rng.choice(ROLES)
    cohort = None if role == "coach" else rng.choice(COHORTS)
    return member, role, cohort


def build_rows(size: int) -> dict[str, list[tuple[object, ...]]]:
    rng = random.Random(size)
    now = datetime(2026, 11, 25, tzinfo=UTC).isoformat()
    rows: dict[str, list[tuple[object, ...]]] = {
        "members": [],
        "role_grants": [],
        "member_terms": [],
        "member_sort_keys": [],
    }
    cohort_ids = {code: index + 1 for index, code in enumerate(COHORTS)}
    import json

    for member_id in range(1, size + 1):
        member, role, cohort = fake_member(rng, member_id)
        rows["members"].append(
            (
                member_id,
                member.slack_id,
                member.name,
                member.email,
                now,
                member.organisation,
                member.country,
                member.region,
                json.dumps(member.sectors),
                json.dumps(member.expertise),
                member.bio,
                member.visible,
            )
        )
        rows["role_grants"].append((member_id, member_id, role, cohort_ids.get(cohort or ""), now))
        rows["member_terms"] += [(member_id, kind, term) for kind, term in sorted(member_terms(member))]
        rows["member_sort_keys"].append((member_id, sort_key(member.name), member.visible))
    return rows


MEMBER_COLUMNS = (
    "id, slack_id, name, email, created_at, organisation, country, region, sectors, expertise, bio, visible"
)
INSERTS = {
    "members": f"INSERT INTO members ({MEMBER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "role_grants": "INSERT INTO role_grants (id, member_id, role, cohort_id, granted_at) VALUES (?, ?, ?, ?, ?)",
    "member_terms": "INSERT INTO member_terms (member_id, kind, term) VALUES (?, ?, ?)",
    "member_sort_keys": "INSERT INTO member_sort_keys (member_id, sort_key, visible) VALUES (?, ?, ?)",
}
COPY = {
    "members": f"COPY members ({MEMBER_COLUMNS}) FROM STDIN",
    "role_grants": "COPY role_grants (id, member_id, role, cohort_id, granted_at) FROM STDIN",
    "member_terms": "COPY member_terms (member_id, kind, term) FROM STDIN",
    "member_sort_keys": "COPY member_sort_keys (member_id, sort_key, visible) FROM STDIN",
}


def cohorts_rows(now: str) -> list[tuple[object, ...]]:
    return [(index + 1, code, f"Cluster Booster Academy {code[3:]}", now) for index, code in enumerate(COHORTS)]


def seed_sqlite(path: Path, rows: dict[str, list[tuple[object, ...]]]) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous = OFF")
    now = datetime(2026, 11, 25, tzinfo=UTC).isoformat()
    with connection:
        connection.executemany(
            "INSERT INTO cohorts (id, code, name, created_at) VALUES (?, ?, ?, ?)", cohorts_rows(now)
        )
        for table, statement in INSERTS.items():
            connection.executemany(statement, rows[table])
    connection.execute("ANALYZE")
    connection.close()


def seed_postgres(engine: Engine, rows: dict[str, list[tuple[object, ...]]]) -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC).isoformat()
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        with pg.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy("COPY cohorts (id, code, name, created_at) FROM STDIN") as copy:
                for row in cohorts_rows(now):
                    copy.write_row(row)
            for table, statement in COPY.items():
                with cursor.copy(statement) as copy:
                    for row in rows[table]:
                        copy.write_row(row)
            for table in ("members", "role_grants", "cohorts"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        pg.commit()  # type: ignore[union-attr]
        pg.autocommit = True  # type: ignore[union-attr]
        with pg.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute("VACUUM ANALYZE")
    finally:
        raw.close()


def measure(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm the caches once
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_queries(session: Session, repeats: int) -> list[tuple[str, str, float, float, int]]:
    participant = Viewer(member_id=1, organiser=False)
    organiser = Viewer(member_id=1, organiser=True)
    results = []
    for label, query_text in QUERIES:
        query = parse_directory(query_text)
        total = search(session, query, participant).total
        timings = measure(lambda query=query: search(session, query, participant), repeats)
        results.append((label, query_text, p(timings, 0.5), p(timings, 0.95), total))
    query = parse_directory("mobility")
    timings = measure(lambda: search(session, query, organiser, page=3), repeats)
    results.append(
        ("organiser, page 4", "mobility", p(timings, 0.5), p(timings, 0.95), search(session, query, organiser).total)
    )
    timings = measure(lambda: counts(session, participant), repeats)
    results.append(("counts (no arguments)", "", p(timings, 0.5), p(timings, 0.95), counts(session, participant).total))
    timings = measure(lambda: counts(session, organiser), repeats)
    results.append(
        ("organiser, counts and hidden", "", p(timings, 0.5), p(timings, 0.95), counts(session, organiser).total)
    )
    return results


def bench_backend(
    name: str, url_for: Callable[[int], tuple[str, Callable[[], None]]], sizes: list[int], repeats: int
) -> list[str]:
    lines: list[str] = []
    for size in sizes:
        url, cleanup = url_for(size)
        try:
            upgrade(url)
            started = time.perf_counter()
            rows = build_rows(size)
            built = time.perf_counter() - started
            engine = make_engine(url)
            started = time.perf_counter()
            if name == "SQLite":
                seed_sqlite(Path(make_url(url).database or ""), rows)
            else:
                seed_postgres(engine, rows)
            seeded = time.perf_counter() - started
            with make_sessionmaker(engine)() as session:
                # What the ORM hooks keep up to date row by row, computed once for the bulk-loaded rows.
                apply_member_counts(session.connection(), tally_members(session))
                session.commit()
            with make_sessionmaker(engine)() as session:
                results = run_queries(session, repeats)
            engine.dispose()
        finally:
            cleanup()
        terms = len(rows["member_terms"])
        print(f"{name} {size}: rows built in {built:.1f}s, seeded in {seeded:.1f}s ({terms} terms)", flush=True)
        lines.append(f"\n### {name}, {size:,} members ({terms:,} search terms; seeded in {seeded:.1f} s)\n")
        lines.append("| search | query | p50 ms | p95 ms | matches |")
        lines.append("|---|---|---|---|---|")
        for label, query_text, p50, p95, total in results:
            lines.append(f"| {label} | `{query_text}` | {p50:.2f} | {p95:.2f} | {total:,} |")
            print(f"  {label:28} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  ({total} matches)", flush=True)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("CBA_TEST_DATABASE_URL", ""))
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--output", type=Path, default=None, help="a file of its own instead of RESULTS.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="cba-bench-"))

    def sqlite_url(size: int) -> tuple[str, Callable[[], None]]:
        path = workdir / f"members-{size}.sqlite3"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)

    sections = bench_backend("SQLite", sqlite_url, sizes, args.repeats)
    pg_version = "not run (no --pg)"
    if args.pg:
        server = make_url(args.pg)
        if server.drivername == "postgresql":
            server = server.set(drivername="postgresql+psycopg")
        admin = make_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            pg_version = str(connection.execute(text("SHOW server_version")).scalar())

        def pg_url(size: int) -> tuple[str, Callable[[], None]]:
            name = f"cba_bench_{size}_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))

            def drop() -> None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

            return server.set(database=name).render_as_string(hide_password=False), drop

        sections += bench_backend("PostgreSQL", pg_url, sizes, args.repeats)
        admin.dispose()
    header = [
        "# Directory search benchmark (members)",
        "",
        f"Command: `{' '.join(['python', *sys.argv])}`",
        "",
        f"Machine: {os.cpu_count()} CPUs (nproc), Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"PostgreSQL {pg_version}; {args.repeats} timed runs per search after one warm-up, one page of 8 cards plus "
        f"the total count (what `/cba-directory` runs). Viewer: a participant (visible members only) unless noted; "
        f"{int(VISIBLE_SHARE * 100)} % of members visible. Goal (SPEC 5): p95 < 50 ms at 100k on both databases.",
    ]
    write_result(args.output, "directory-search", "\n".join(header + sections) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
