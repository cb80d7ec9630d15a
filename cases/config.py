"""Province configuration of the case database: which administrative units we serve, the
SLA of each category and the accepted dossier-code format. Read from ``dialplans/province.yaml``
(see the comments there); code never hard-codes a province.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from cases.domain import Category
from cases.errors import ConfigurationError

DEFAULT_DOSSIER_TEMPLATE = "ddd.dd.dd.Hdd-dddddd-dddd"
CONFIG_FILE = "province.yaml"


@dataclass(frozen=True, slots=True)
class CasesConfig:
    province_code: int
    ward_codes: frozenset[int] | None = None  # None: every ward of the province
    sla: Mapping[Category, timedelta] = field(default_factory=dict)
    default_sla: timedelta = timedelta(days=10)
    dossier_template: str = DEFAULT_DOSSIER_TEMPLATE

    def sla_for(self, category: Category) -> timedelta:
        return self.sla.get(category, self.default_sla)


def load_config(path: Path) -> CasesConfig:
    """Read and validate a province file; ConfigurationError names the file and the key."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"province file {path} cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"province file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"province file {path} must be a mapping")
    return config_from_mapping(raw, source=str(path))


def config_from_mapping(raw: Mapping[str, Any], source: str = "config") -> CasesConfig:
    from vietnam_provinces import Province, ProvinceCode, Ward

    try:
        province_code = int(raw["province_code"])
        Province.from_code(ProvinceCode(province_code))
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"{source}: province_code must be a current province code of vietnam-provinces "
            f"(got {raw.get('province_code')!r})"
        ) from exc

    ward_codes: frozenset[int] | None = None
    if raw.get("ward_codes") is not None:
        in_province = {int(w.code) for w in Ward.iter_by_province(ProvinceCode(province_code))}
        try:
            ward_codes = frozenset(int(c) for c in raw["ward_codes"])
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"{source}: ward_codes must be a list of integers") from exc
        stray = sorted(ward_codes - in_province)
        if stray:
            raise ConfigurationError(
                f"{source}: ward_codes {stray} are not wards of province {province_code}"
            )

    sla: dict[Category, timedelta] = {}
    for name, hours in (raw.get("sla_hours") or {}).items():
        try:
            category = Category(name)
        except ValueError as exc:
            known = ", ".join(c.value for c in Category)
            raise ConfigurationError(
                f"{source}: sla_hours has unknown category {name!r} (known: {known})"
            ) from exc
        if not isinstance(hours, int | float) or hours <= 0:
            raise ConfigurationError(f"{source}: sla_hours.{name} must be a positive number")
        sla[category] = timedelta(hours=hours)

    template = str((raw.get("dossier_code") or {}).get("template", DEFAULT_DOSSIER_TEMPLATE))
    if "d" not in template:
        raise ConfigurationError(f"{source}: dossier_code.template has no digit slot 'd'")
    return CasesConfig(
        province_code=province_code, ward_codes=ward_codes, sla=sla, dossier_template=template
    )
