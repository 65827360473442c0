"""The work-order form (工单) as plain typed data."""

from __future__ import annotations

from dataclasses import dataclass, fields

FIELD_NAMES: tuple[str, ...] = (
    "caller_name", "phone", "id_number", "province", "city", "district", "street_address",
    "merchant", "incident_time", "amount", "plate",
)


@dataclass(frozen=True)
class FieldValue:
    """One filled field and where it came from.

    utterance: index of the turn it was taken from; span: [start, end) character offsets in
    that turn's text; source_text: that turn's text; normalized: a machine form where there is
    one (the adcode for province / city / district, ISO 8601 for incident_time)."""

    value: str
    utterance: int
    span: tuple[int, int]
    confidence: float
    source_text: str
    normalized: str | None = None

    def with_confidence(self, confidence: float) -> FieldValue:
        return FieldValue(self.value, self.utterance, self.span, round(min(0.99, confidence), 3),
                          self.source_text, self.normalized)


@dataclass
class WorkOrderForm:
    caller_name: FieldValue | None = None
    phone: FieldValue | None = None
    id_number: FieldValue | None = None
    province: FieldValue | None = None
    city: FieldValue | None = None
    district: FieldValue | None = None
    street_address: FieldValue | None = None
    merchant: FieldValue | None = None
    incident_time: FieldValue | None = None
    amount: FieldValue | None = None
    plate: FieldValue | None = None

    def as_dict(self) -> dict[str, str | None]:
        """Plain values in the batch contract's keys, None where empty."""
        return {f.name: (v.value if (v := getattr(self, f.name)) is not None else None)
                for f in fields(self)}

    def items(self) -> list[tuple[str, FieldValue | None]]:
        return [(name, getattr(self, name)) for name in FIELD_NAMES]

    def copy(self) -> WorkOrderForm:
        return WorkOrderForm(**dict(self.items()))
