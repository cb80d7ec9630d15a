"""Places: wards/communes of the configured province, matched against the current
administrative units of the `vietnam-provinces` package (post-July-2025 two-level
structure: province -> phường/xã/đặc khu), never against a hand-typed list.

Matching is forgiving with what callers and agents type or say: case, tone marks, "đ",
the unit-type prefix ("phường", "xã", "p.") and small spelling slips (rapidfuzz ratio).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from cases.config import CasesConfig
from cases.errors import UnknownPlaceError

_PREFIXES = ("thanh pho ", "dac khu ", "phuong ", "xa ", "tp. ", "tp ", "p. ", "p ", "x. ")
FUZZY_CUTOFF = 88.0


@dataclass(frozen=True, slots=True)
class Place:
    ward_code: int
    ward_name: str  # "Phường Bạc Liêu"
    province_code: int
    province_name: str  # "Cà Mau"

    @property
    def label(self) -> str:
        return f"{self.ward_name}, {self.province_name}"


def match_key(text: str) -> str:
    """Lower case, no tone marks, đ -> d, unit prefix dropped, spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", text.strip().lower())
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    bare = bare.replace("đ", "d")
    bare = " ".join(bare.split())
    for prefix in _PREFIXES:
        if bare.startswith(prefix):
            bare = bare[len(prefix) :]
            break
    return bare


class PlaceDirectory:
    """The wards this hotline serves (from `CasesConfig`), looked up by code or by name."""

    def __init__(self, config: CasesConfig) -> None:
        from vietnam_provinces import Province, ProvinceCode, Ward

        province = Province.from_code(ProvinceCode(config.province_code))
        wards = [
            w
            for w in Ward.iter_by_province(ProvinceCode(config.province_code))
            if config.ward_codes is None or int(w.code) in config.ward_codes
        ]
        self._places = {
            int(w.code): Place(int(w.code), w.name, config.province_code, province.name)
            for w in wards
        }
        self._by_key = {match_key(p.ward_name): p for p in self._places.values()}
        self.province_name = province.name

    def __len__(self) -> int:
        return len(self._places)

    def all(self) -> list[Place]:
        return sorted(self._places.values(), key=lambda p: p.ward_code)

    def by_code(self, ward_code: int) -> Place:
        try:
            return self._places[ward_code]
        except KeyError:
            raise UnknownPlaceError(
                f"Ward {ward_code} is not one of the {len(self._places)} wards served "
                f"in {self.province_name}"
            ) from None

    def match(self, text: str) -> Place | None:
        """The ward named by `text`, or None when nothing is close enough."""
        key = match_key(text)
        if not key:
            return None
        if key in self._by_key:
            return self._by_key[key]
        best = process.extractOne(key, list(self._by_key), scorer=fuzz.ratio)
        if best is not None and best[1] >= FUZZY_CUTOFF:
            return self._by_key[best[0]]
        return None

    def resolve(self, text: str) -> Place:
        place = self.match(text)
        if place is None:
            raise UnknownPlaceError(
                f"Place {text!r} matches no ward served in {self.province_name}"
            )
        return place
