"""Who may do what. Admins are staff users; analysts are members of the ``analysts`` group;
a customer acts only through a signing token, as a ``CustomerPrincipal`` scoped to itself."""

from __future__ import annotations

from dataclasses import dataclass

ANALYSTS_GROUP = "analysts"


@dataclass(frozen=True)
class CustomerPrincipal:
    """The ``request.user`` of a request authenticated with a customer's signing token."""

    customer_id: int
    token_id: int

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __str__(self) -> str:
        return f"customer:{self.customer_id}"


def is_admin(user) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False) and getattr(user, "is_active", False)
    )


def is_analyst(user) -> bool:
    if isinstance(user, CustomerPrincipal) or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.groups.filter(name=ANALYSTS_GROUP).exists()


def is_staff_member(user) -> bool:
    """Admins and analysts: the back-office roles."""
    return is_admin(user) or is_analyst(user)


def customer_scope(user) -> int | None:
    """The customer id a signing-token principal is limited to; None for back-office users."""
    return user.customer_id if isinstance(user, CustomerPrincipal) else None


def role_of(user) -> str | None:
    if isinstance(user, CustomerPrincipal):
        return "customer"
    if is_admin(user):
        return "admin"
    if is_analyst(user):
        return "analyst"
    return None


def db_user(user):
    """The auth.User to record as actor, or None for customers and anonymous callers."""
    if isinstance(user, CustomerPrincipal) or not getattr(user, "is_authenticated", False):
        return None
    return user
