"""The four roles and what each may open. An administrator may do everything."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    operator = "operator"  # 话务员: live calls, work orders
    knowledge_manager = "knowledge_manager"  # 知识管理员: write answers, taxonomy, units, import
    reviewer = "reviewer"  # 审核员: review, publish and retire answers
    admin = "admin"  # 管理员: accounts, audit log, and everything the others do


ROLE_NAMES: dict[Role, str] = {
    Role.operator: "话务员", Role.knowledge_manager: "知识管理员", Role.reviewer: "审核员",
    Role.admin: "管理员",
}

# Who may use which part of the product (the admin is always added).
OPERATORS = frozenset({Role.operator})
KNOWLEDGE_WRITERS = frozenset({Role.knowledge_manager})
KNOWLEDGE_REVIEWERS = frozenset({Role.reviewer})
KNOWLEDGE_STAFF = KNOWLEDGE_WRITERS | KNOWLEDGE_REVIEWERS
STAFF = OPERATORS | KNOWLEDGE_STAFF
ADMINS = frozenset({Role.admin})


def parse_roles(values: list[str] | str) -> frozenset[Role]:
    """Roles from names (a list, or one comma-separated string); unknown names raise
    ValueError naming them and the valid ones."""
    items = values.split(",") if isinstance(values, str) else values
    names = [v.strip() for v in items if v.strip()]
    unknown = [n for n in names if n not in Role.__members__]
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; "
                         f"valid: {', '.join(Role.__members__)}")
    if not names:
        raise ValueError(f"give at least one role: {', '.join(Role.__members__)}")
    return frozenset(Role(n) for n in names)


def allowed(have: frozenset[Role], need: frozenset[Role]) -> bool:
    """Whether an account with roles ``have`` may use something open to ``need``."""
    return Role.admin in have or bool(have & need)
