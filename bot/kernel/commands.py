"""The one list of slash commands: /cba-help, `help` answers and the app manifest are built from it."""

from __future__ import annotations

from dataclasses import dataclass, field

EVERYONE = ("participant", "alumni", "coach", "organiser")


@dataclass(frozen=True)
class Usage:
    """One subcommand: its grammar, an example, and who may use it."""

    grammar: str
    example: str
    summary: str
    roles: tuple[str, ...] = EVERYONE


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description: str
    usage_hint: str
    usages: tuple[Usage, ...] = field(default_factory=tuple)
    # Everything but /cba-help needs a role (SPEC 3, Membership).
    members_only: bool = True

    def usages_for(self, roles: frozenset[str]) -> list[Usage]:
        return [usage for usage in self.usages if roles & set(usage.roles)]

    def usage_text(self, roles: frozenset[str] | None = None) -> str:
        """The usage block shown with errors and by `help`."""
        shown = self.usages if roles is None else (self.usages_for(roles) or list(self.usages))
        lines = [f"*Usage of `{self.name}`:*"]
        lines += [f"• `{u.grammar}` — {u.summary}" for u in shown]
        return "\n".join(lines)


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "/cba-help",
        "What CBA Bot can do for you",
        "",
        (Usage("/cba-help", "/cba-help", "lists the commands you may use"),),
        members_only=False,
    ),
    CommandSpec(
        "/cba-directory",
        "Search the directory of participants, alumni and coaches",
        "[words] [country:XX] [cohort:CODE] [role:ROLE] [expertise:TAG] [sector:TAG]",
        (
            Usage("/cba-directory", "/cba-directory", "counts by role, cohort and country"),
            Usage(
                "/cba-directory [words] [country:XX] [cohort:CODE] [role:ROLE] [expertise:TAG] [sector:TAG]",
                "/cba-directory mobility country:IT role:alumni",
                "searches members who opted in",
            ),
        ),
    ),
    CommandSpec(
        "/cba-profile",
        "View and edit your directory profile",
        "[set FIELD VALUE | @member | export | delete]",
        (
            Usage("/cba-profile", "/cba-profile", "edit your profile in a form"),
            Usage("/cba-profile set FIELD VALUE", "/cba-profile set visible yes", "changes one field"),
            Usage(
                "/cba-profile set capacity N",
                "/cba-profile set capacity 2",
                "questions routed to you in 30 days (0–50, default 4)",
                ("alumni",),
            ),
            Usage(
                "/cba-profile set away FROM TO",
                "/cba-profile set away 2026-12-20 2027-01-06",
                "an absence: no reminders or routed questions (`away off` ends it)",
            ),
            Usage("/cba-profile @member", "/cba-profile @maria", "shows a member's profile card"),
            Usage("/cba-profile export", "/cba-profile export", "sends you everything stored about you"),
            Usage("/cba-profile delete", "/cba-profile delete", "erases your personal data"),
        ),
    ),
    CommandSpec(
        "/cba-slots",
        "Coaches: publish and manage coaching slots",
        "[add YYYY-MM-DD HH:MM [MINUTESm] [xCOUNT] [MEETING-URL] | list | remove SLOT-ID]",
        (
            Usage(
                "/cba-slots add YYYY-MM-DD HH:MM [MINUTESm] [xCOUNT] [MEETING-URL]",
                "/cba-slots add 2026-12-03 10:00 45m x3 https://meet.example.com/abc",
                "publishes coaching slots",
                ("coach",),
            ),
            Usage("/cba-slots [list]", "/cba-slots", "your slots from now on", ("coach",)),
            Usage("/cba-slots remove SLOT-ID", "/cba-slots remove 12", "withdraws a slot", ("coach", "organiser")),
        ),
    ),
    CommandSpec(
        "/cba-book",
        "Book a coaching session",
        "[SLOT-ID | mine | cancel BOOKING-ID | waitlist [@coach] | waitlist leave]",
        (
            Usage("/cba-book", "/cba-book", "open coaching slots", ("participant",)),
            Usage("/cba-book SLOT-ID", "/cba-book 12", "books a slot", ("participant",)),
            Usage(
                "/cba-book waitlist [@coach]",
                "/cba-book waitlist @clara",
                "waits for the next free slot (of any coach, or of that coach)",
                ("participant",),
            ),
            Usage("/cba-book waitlist leave", "/cba-book waitlist leave", "leaves the waitlist", ("participant",)),
            Usage("/cba-book mine", "/cba-book mine", "your bookings", ("participant", "coach")),
            Usage(
                "/cba-book cancel BOOKING-ID",
                "/cba-book cancel 5",
                "cancels a booking",
                ("participant", "coach", "organiser"),
            ),
        ),
    ),
    CommandSpec(
        "/cba-homework",
        "Homework: assignments, submissions and feedback",
        "[submit ID TEXT-OR-LINK | show ID | new COHORT DATE TITLE | due ID DATE | grace ID HOURS | withdraw ID | status ID | review ID TEXT]",
        (
            Usage(
                "/cba-homework", "/cba-homework", "your assignments and status", ("participant", "coach", "organiser")
            ),
            Usage(
                "/cba-homework submit ASSIGNMENT-ID TEXT-OR-LINK",
                "/cba-homework submit 3 https://docs.example.com/plan",
                "submits homework (without text: a form)",
                ("participant",),
            ),
            Usage(
                "/cba-homework show SUBMISSION-ID",
                "/cba-homework show 9",
                "a submission and its feedback",
                ("participant", "coach", "organiser"),
            ),
            Usage(
                "/cba-homework new COHORT YYYY-MM-DD TITLE [| DESCRIPTION]",
                "/cba-homework new CBA2 2026-12-15 Action plan | Two pages",
                "creates an assignment due 23:59 that day",
                ("organiser",),
            ),
            Usage(
                "/cba-homework due ASSIGNMENT-ID YYYY-MM-DD",
                "/cba-homework due 3 2026-12-20",
                "changes the due date",
                ("organiser",),
            ),
            Usage(
                "/cba-homework grace ASSIGNMENT-ID HOURS",
                "/cba-homework grace 3 2",
                "sets how long after the due time a submission is late (within grace); 0 for none",
                ("organiser",),
            ),
            Usage(
                "/cba-homework withdraw ASSIGNMENT-ID",
                "/cba-homework withdraw 3",
                "withdraws an assignment",
                ("organiser",),
            ),
            Usage(
                "/cba-homework status ASSIGNMENT-ID",
                "/cba-homework status 3",
                "who submitted, when, late or not, who has not",
                ("organiser", "coach"),
            ),
            Usage(
                "/cba-homework review SUBMISSION-ID FEEDBACK",
                "/cba-homework review 9 Great start!",
                "sends feedback",
                ("coach", "organiser"),
            ),
        ),
    ),
    CommandSpec(
        "/cba-ask",
        "Ask the alumni a question",
        "[anon] QUESTION | list | search WORDS | resolve QUESTION-ID",
        (
            Usage("/cba-ask QUESTION", "/cba-ask How do you fund a cluster strategy?", "asks the alumni"),
            Usage(
                "/cba-ask anon QUESTION",
                "/cba-ask anon How do I handle a difficult board?",
                "asks anonymously",
            ),
            Usage("/cba-ask list", "/cba-ask list", "open questions"),
            Usage("/cba-ask search WORDS", "/cba-ask search funding", "past questions and answers"),
            Usage("/cba-ask resolve QUESTION-ID", "/cba-ask resolve 7", "marks your question resolved"),
        ),
    ),
    CommandSpec(
        "/cba-admin",
        "Organisers: roles, cohorts, programme days, reports, digest, deliveries",
        "role | cohort | event | events | checkin | report | digest | deliveries",
        (
            Usage(
                "/cba-admin role @member ROLE [COHORT]",
                "/cba-admin role @maria participant CBA2",
                "grants a role",
                ("organiser",),
            ),
            Usage(
                "/cba-admin role remove @member ROLE",
                "/cba-admin role remove @maria coach",
                "removes a role",
                ("organiser",),
            ),
            Usage(
                "/cba-admin cohort add CODE NAME",
                "/cba-admin cohort add CBA2 Cluster Booster Academy 2",
                "adds a cohort",
                ("organiser",),
            ),
            Usage(
                "/cba-admin cohort channel CODE #channel",
                "/cba-admin cohort channel CBA2 #cba2",
                "sets its channel",
                ("organiser",),
            ),
            Usage(
                "/cba-admin event add COHORT online|in-person YYYY-MM-DD HH:MM-HH:MM TITLE [| LOCATION-OR-LINK]",
                "/cba-admin event add CBA2 online 2026-12-08 09:00-12:30 Kick-off | https://meet.example.com/k",
                "adds a programme day",
                ("organiser",),
            ),
            Usage("/cba-admin events [COHORT]", "/cba-admin events CBA2", "lists programme days", ("organiser",)),
            Usage(
                "/cba-admin event remove EVENT-ID",
                "/cba-admin event remove 2",
                "removes a programme day",
                ("organiser",),
            ),
            Usage(
                "/cba-admin event move EVENT-ID YYYY-MM-DD HH:MM-HH:MM",
                "/cba-admin event move 2 2026-12-09 09:30-13:00",
                "moves a programme day (its reminders follow)",
                ("organiser",),
            ),
            Usage(
                "/cba-admin checkin EVENT-ID",
                "/cba-admin checkin 2",
                "posts a check-in button",
                ("organiser",),
            ),
            Usage("/cba-admin report [COHORT]", "/cba-admin report CBA2", "engagement report", ("organiser",)),
            Usage(
                "/cba-admin digest [COHORT]",
                "/cba-admin digest CBA2",
                "what needs attention now (also sent to organisers at CBA_DIGEST)",
                ("organiser",),
            ),
            Usage(
                "/cba-admin deliveries [PAGE]",
                "/cba-admin deliveries",
                "messages the bot could not deliver, and why",
                ("organiser",),
            ),
        ),
    ),
)

BY_NAME = {spec.name: spec for spec in COMMANDS}


def spec(name: str) -> CommandSpec:
    return BY_NAME[name]
