"""Password hashing with scrypt (standard library), one random salt per password. Stored as
``scrypt$n$r$p$salt$hash`` (base64), so the cost can be raised later without breaking old
hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
MIN_LENGTH = 8
MAX_LENGTH = 256


class WeakPassword(ValueError):
    """A password that does not meet the policy (the message says what to change)."""


def check_policy(password: str, username: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"密码至少 {MIN_LENGTH} 个字符")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"密码最多 {MAX_LENGTH} 个字符")
    if len(set(password)) < 4:
        raise WeakPassword("密码过于简单：请至少使用 4 个不同的字符")
    if username and username.lower() in password.lower():
        raise WeakPassword("密码不能包含用户名")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against its stored hash; False for any malformed
    hash rather than an error."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def generate_password() -> str:
    """A random password for a new account (to be changed by its owner)."""
    return secrets.token_urlsafe(12)
