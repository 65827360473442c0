"""The first accounts of a new installation.

When the account table is empty at start-up an administrator ``admin`` is created, with the
password from ``COPILOT_ADMIN_PASSWORD`` or a random one. On a home that runs the demo knowledge
base, demo accounts for the other roles are added too (``operator``, ``editor``, ``reviewer``),
so the review flow's four-eyes rule can be tried out. Random passwords are written once to
``COPILOT_HOME/initial-passwords.txt`` (readable by the owner only) and must be changed at first
login; nothing else ever shows them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from copilot.accounts import service
from copilot.accounts.passwords import generate_password
from copilot.accounts.roles import Role
from knowledge_base.db import Database

logger = logging.getLogger(__name__)

DEMO_ACCOUNTS: tuple[tuple[str, str, Role], ...] = (
    ("operator", "演示话务员", Role.operator),
    ("editor", "演示知识管理员", Role.knowledge_manager),
    ("reviewer", "演示审核员", Role.reviewer),
)
PASSWORDS_FILE = "initial-passwords.txt"


def ensure_initial_accounts(db: Database, home: Path, *, admin_password: str | None,
                            demo: bool) -> dict[str, str]:
    """Create the first accounts if there are none; returns {username: password} of those
    whose password was generated (empty when accounts existed already)."""
    if service.has_users(db):
        return {}
    generated: dict[str, str] = {}
    if admin_password:
        service.create_user(db, "admin", admin_password, [Role.admin], display_name="管理员")
    else:
        generated["admin"] = generate_password()
        service.create_user(db, "admin", generated["admin"], [Role.admin],
                            display_name="管理员", must_change_password=True)
    if demo:
        for username, name, role in DEMO_ACCOUNTS:
            generated[username] = generate_password()
            service.create_user(db, username, generated[username], [role], display_name=name,
                                must_change_password=not admin_password)
    if generated:
        path = home / PASSWORDS_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("# First passwords of this installation; change them at first login, "
                     "then delete this file.\n")
            fh.writelines(f"{user}\t{password}\n" for user, password in generated.items())
        logger.warning("created the first accounts (%s); their passwords are in %s",
                       ", ".join(generated), path)
    return generated
