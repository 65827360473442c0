"""Territorial units (属地): the units of the unit directory that answer for the place of the
matter — the street office (街道办事处) or town government of the caller's 街道 / 镇 in their
district, and the district government — so that a neighbourhood matter can be dispatched to them.

Names are matched loosely: a district may be written 越秀区, 越秀 or 广州市越秀区 on either side,
and the form's address may say 北京街道, 北京街 or 北京街道办事处 for 越秀区北京街道办事处. Only
units of the directory are named; a place the directory lacks names none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# a district government and a street office / town government, by kind or else by name
_DISTRICT_KINDS = ("区政府", "县政府", "区人民政府", "县人民政府")
_STREET_KINDS = ("街道", "镇", "乡")
_DISTRICT_NAME = re.compile("(?:区|县|旗)(?:人民政府|政府)$")
_STREET_NAME = re.compile("(?:街道办事处|街道办|街道|镇人民政府|镇政府|镇|乡人民政府|乡政府|乡)$")
# how an address names a street or town: 北京街道, 北京街, 北京街道办事处, 新塘镇, 某某乡
_STREET_SAID = "(?:街道|街|镇|乡)"
_OFFICE = re.compile("(?:办事处|人民政府|政府)$")
_DISTRICT_SUFFIX = re.compile("(?:区|县|旗|市)$")
_UPPER = re.compile("^(?:.+?(?:省|自治区))?(?:.+?市)?(?P<rest>.{2,})$")


@dataclass(frozen=True)
class DirectoryUnit:
    """A unit of the directory as the suggestion names it."""

    name: str
    kind: str
    district: str
    phone: str


def district_key(name: str | None) -> str:
    """The bare name of a district: 越秀区, 越秀 and 广州市越秀区 all give 越秀 ("" for none)."""
    text = re.sub(r"\s+", "", name or "")
    found = _UPPER.match(text)
    rest = found.group("rest") if found else text
    bare = _DISTRICT_SUFFIX.sub("", rest)
    return bare if len(bare) >= 2 else rest


def is_street_office(unit: DirectoryUnit) -> bool:
    """A street office or town government: by its kind (街道办事处, 镇政府) or its name."""
    return any(k in unit.kind for k in _STREET_KINDS) or bool(_STREET_NAME.search(unit.name))


def is_district_government(unit: DirectoryUnit) -> bool:
    """A district or county government: by its kind (区政府) or its name (…区人民政府)."""
    return any(k in unit.kind for k in _DISTRICT_KINDS) or (
        not is_street_office(unit) and bool(_DISTRICT_NAME.search(unit.name)))


def _in_district(unit: DirectoryUnit, key: str) -> bool:
    """Whether the unit is of the district ``key``: by its district field, else its name."""
    if unit.district:
        return district_key(unit.district) == key
    return any(f"{key}{suffix}" in unit.name for suffix in "区县旗")


def street_name(unit: DirectoryUnit, key: str) -> str:
    """A street office's bare street or town name: 越秀区北京街道办事处 → 北京."""
    name = unit.name
    for prefix in (unit.district, f"{key}区", f"{key}县", key):
        if prefix and prefix in name:
            name = name.split(prefix, 1)[1]
            break
    return _STREET_NAME.sub("", name)


def _says_street(address: str, street: str) -> bool:
    return len(street) >= 2 and re.search(re.escape(street) + _STREET_SAID, address) is not None


def local_unit_json(unit: DirectoryUnit) -> dict[str, Any]:
    """A territorial unit as the suggestion gives it; the reason names the place."""
    return {"name": unit.name, "phone": unit.phone, "kind": unit.kind,
            "district": unit.district, "reason": f"属地：{_OFFICE.sub('', unit.name)}"}


def local_units(units: Iterable[DirectoryUnit], district: str | None,
                address: str | None = None) -> list[dict[str, Any]]:
    """The directory's units of the place: the street office of the street or town ``address``
    names in ``district`` (the longest matching name), then the district government; [] without
    a district or when the directory has no unit there."""
    key = district_key(district)
    if not key:
        return []
    here = [u for u in units if _in_district(u, key)]
    streets = {u: street_name(u, key) for u in here if is_street_office(u)}
    said = [u for u, street in streets.items() if _says_street(address or "", street)]
    found = sorted(said, key=lambda u: -len(streets[u]))[:1]  # 江南中街道 before 江南街道
    found += [u for u in here if is_district_government(u)][:1]
    return [local_unit_json(u) for u in found]


def form_local_units(units: Iterable[DirectoryUnit], form: Mapping[str, str | None] | None
                     ) -> list[dict[str, Any]]:
    """:func:`local_units` of a work order's form values (``district``, ``street_address``)."""
    if not form:
        return []
    return local_units(units, form.get("district"), form.get("street_address"))
