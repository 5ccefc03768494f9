from rest_framework.permissions import SAFE_METHODS, BasePermission

from verification.roles import CustomerPrincipal, is_admin, is_staff_member


class IsAdmin(BasePermission):
    """Staff users: manage everything."""

    def has_permission(self, request, view):
        return is_admin(request.user)


class IsBackOffice(BasePermission):
    """Admins and analysts."""

    def has_permission(self, request, view):
        return is_staff_member(request.user)


class IsBackOfficeReadOrAdmin(BasePermission):
    """Analysts read; admins read and write."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return is_staff_member(request.user)
        return is_admin(request.user)


class IsBackOfficeOrCustomer(BasePermission):
    """Admins, analysts, or a customer's signing token (the view scopes it to its own record)."""

    def has_permission(self, request, view):
        return is_staff_member(request.user) or isinstance(request.user, CustomerPrincipal)


class IsAdminOrCustomer(BasePermission):
    """Writes a customer may make on its own record (references, enrollment, verification)."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return is_staff_member(request.user) or isinstance(request.user, CustomerPrincipal)
        return is_admin(request.user) or isinstance(request.user, CustomerPrincipal)


class IsBackOfficeCandidateOrAdminOrCustomer(BasePermission):
    """``POST /api/verifications/``: admins and customers send signatures; analysts and admins
    verify a signature candidate found on a document (field ``candidate``); customers may not."""

    def has_permission(self, request, view):
        data = request.data if hasattr(request.data, "get") else {}
        if data.get("candidate") not in (None, ""):
            return is_staff_member(request.user)
        return is_admin(request.user) or isinstance(request.user, CustomerPrincipal)
