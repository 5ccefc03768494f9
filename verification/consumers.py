"""Websocket consumers: a snapshot from the database on connect, then deltas from groups.

Who may join is checked in ``connect()`` before ``group_add``; a refused socket is closed
with code 4401 (not authenticated) or 4403 (not allowed).
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from verification.broadcast import DASHBOARD_GROUP, customer_group
from verification.payloads import for_customer_job, for_customer_snapshot, for_customer_verification
from verification.roles import CustomerPrincipal, is_staff_member
from verification.selectors.queries import dashboard_snapshot

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class _Base(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def _refuse(self, code: int) -> None:
        await self.accept()  # accept-then-close so browsers see the close code
        await self.close(code=code)

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        elif isinstance(content, dict) and content.get("type") == "snapshot":
            await self._send_snapshot()

    async def _send_snapshot(self) -> None:
        raise NotImplementedError

    async def job_update(self, event):
        await self.send_json({"type": "job", "job": event["job"]})

    async def verification_update(self, event):
        await self.send_json({"type": "verification", "verification": event["verification"]})


class DashboardConsumer(_Base):
    """/ws/dashboard/: analysts and admins; every verification result and job update."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return await self._refuse(CLOSE_UNAUTHENTICATED)
        if not await database_sync_to_async(is_staff_member)(user):
            return await self._refuse(CLOSE_FORBIDDEN)
        self.group = DASHBOARD_GROUP
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_snapshot()

    async def _send_snapshot(self) -> None:
        snapshot = await database_sync_to_async(dashboard_snapshot)()
        await self.send_json({"type": "snapshot", **snapshot})


class CustomerConsumer(_Base):
    """/ws/customer/<id>/: that customer's own verifications and jobs (its signing token), or back office."""

    async def connect(self):
        user = self.scope.get("user")
        customer_id = int(self.scope["url_route"]["kwargs"]["customer_id"])
        if user is None or not user.is_authenticated:
            return await self._refuse(CLOSE_UNAUTHENTICATED)
        allowed = (
            user.customer_id == customer_id
            if isinstance(user, CustomerPrincipal)
            else await database_sync_to_async(is_staff_member)(user)
        )
        if not allowed:
            return await self._refuse(CLOSE_FORBIDDEN)
        self.customer_id = customer_id
        self.customer_view = isinstance(user, CustomerPrincipal)  # the customer itself: decisions only
        self.group = customer_group(customer_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_snapshot()

    async def _send_snapshot(self) -> None:
        snapshot = await database_sync_to_async(dashboard_snapshot)(scope=self.customer_id, limit=10)
        if self.customer_view:
            snapshot = for_customer_snapshot(snapshot)
        await self.send_json({"type": "snapshot", "customer": self.customer_id, **snapshot})

    async def job_update(self, event):
        job = for_customer_job(event["job"]) if self.customer_view else event["job"]
        await self.send_json({"type": "job", "job": job})

    async def verification_update(self, event):
        v = event["verification"]
        await self.send_json({"type": "verification", "verification": for_customer_verification(v) if self.customer_view else v})
