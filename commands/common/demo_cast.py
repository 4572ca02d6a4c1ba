"""The demo cohort's cast: who `cba-bot demo` creates, shared by the features' demo steps and the console."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoPerson:
    slack_id: str
    name: str
    email: str
    role: str
    cohort: str
    tz: str = "Europe/Brussels"


CURRENT_COHORT = ("CBA3", "Cluster Booster Academy 3", "C0DEMOCBA3")
ALUMNI_COHORT = ("CBA2", "Cluster Booster Academy 2", "C0DEMOCBA2")
QUESTIONS_CHANNEL = "C0DEMOASK1"

PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("U0DEMOORG1", "Anna Berg", "anna.berg@example.org", "organiser", "CBA3"),
    DemoPerson("U0DEMOCO01", "Marco Rossi", "marco.rossi@example.org", "coach", "CBA3", "Europe/Rome"),
    DemoPerson("U0DEMOCO02", "Sofie Jensen", "sofie.jensen@example.org", "coach", "CBA3", "Europe/Copenhagen"),
    DemoPerson("U0DEMOAL01", "Jan Novak", "jan.novak@example.org", "alumni", "CBA2", "Europe/Prague"),
    DemoPerson("U0DEMOAL02", "Elena Popescu", "elena.popescu@example.org", "alumni", "CBA2", "Europe/Bucharest"),
    DemoPerson("U0DEMOAL03", "Pierre Dubois", "pierre.dubois@example.org", "alumni", "CBA2", "Europe/Paris"),
    DemoPerson("U0DEMOPA01", "Lucia Garcia", "lucia.garcia@example.org", "participant", "CBA3", "Europe/Madrid"),
    DemoPerson("U0DEMOPA02", "Tomas Kovac", "tomas.kovac@example.org", "participant", "CBA3", "Europe/Bratislava"),
    DemoPerson("U0DEMOPA03", "Ines Santos", "ines.santos@example.org", "participant", "CBA3", "Europe/Lisbon"),
    DemoPerson("U0DEMOPA04", "Mikko Virtanen", "mikko.virtanen@example.org", "participant", "CBA3", "Europe/Helsinki"),
)
