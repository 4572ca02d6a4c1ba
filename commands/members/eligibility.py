"""Countries: ISO 3166-1 alpha-2 codes, and who may take part in the Academy (the call's eligibility).

Source of the eligibility rule: the CBA call for applications ("managing a Cluster organisation from an EU
country or countries associated to the COSME strand of the Single Market Programme"), which points to the
European Commission's "List of participating countries in the Single Market Programme"
(list-3rd-country-participation_smp_en.pdf), SMEs strand (formerly COSME). Check that list again before each
call: association agreements are signed over time, and this is the one place to update.
"""

from __future__ import annotations

# The 27 Member States of the European Union (ISO codes: Greece is GR, not the EU's "EL").
EU_MEMBER_STATES = frozenset(
    ["AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"]
)

# Countries associated to the SMEs (COSME) strand of the Single Market Programme (EC list, 2023): the EEA EFTA
# states Iceland and Norway; Albania, Armenia, Bosnia and Herzegovina, Kosovo (XK: the code the EU uses),
# Moldova, Montenegro, North Macedonia, Serbia and Ukraine.
COSME_ASSOCIATED = frozenset(["IS", "NO", "AL", "AM", "BA", "XK", "MD", "ME", "MK", "RS", "UA"])

ELIGIBLE_COUNTRIES = EU_MEMBER_STATES | COSME_ASSOCIATED

# ISO 3166-1 alpha-2 (officially assigned), plus XK (Kosovo, user-assigned and used by the EU).
ISO_COUNTRIES = frozenset(
    ["AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW", "XK"]
)


def is_country(code: str) -> bool:
    return code.upper() in ISO_COUNTRIES


def is_eligible(code: str | None) -> bool:
    """Whether a cluster organisation in this country may take part (EU or COSME-associated)."""
    return bool(code) and str(code).upper() in ELIGIBLE_COUNTRIES
