"""Websockets: the dashboard sees a document's detection job progress page by page, then the
verification of one of its candidates like any other verification."""

import asyncio

from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator
from document_files import pdf_of, small_page
from rest_framework.authtoken.models import Token

from sigweb.asgi import application
from sigweb.queues import QUEUE_FOR_TASK, Queue
from verification.models import DocumentPage
from verification.services.document_uploads import UploadedDocument
from verification.services.documents import document_create
from verification.services.verifications import verification_create

from job_wait import job_finished

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


async def _receive_until(comm, predicate, seen, timeout=20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        msg = await comm.receive_json_from(timeout=max(0.1, remaining))
        seen.append(msg)
        if predicate(msg):
            return msg


def test_dashboard_gets_detection_progress_and_the_candidate_verification(enrolled_customer, analyst_user, monkeypatch):
    # Embedded mode runs a long job in a thread of its own, whose messages the in-memory channel
    # layer cannot hand to this test's event loop (Redis can: tests/integration); run it inline.
    monkeypatch.setitem(QUEUE_FOR_TASK, "verification.tasks.document_detect_batch_task", Queue.SHORT)
    customer = enrolled_customer("writer-a")
    token = Token.objects.create(user=analyst_user)
    pdf = pdf_of(small_page("writer-a", 4), small_page(writer=None, seed=1), small_page("writer-b", 1))

    def upload():
        return document_create(files=[UploadedDocument("three.pdf", pdf, "pdf")], created_by=analyst_user)

    def verify(document_id):
        job_finished(DocumentPage.objects.get(document_id=document_id, number=1).document.job_id, timeout=30)
        candidate = DocumentPage.objects.get(document_id=document_id, number=1).candidates.get()
        return verification_create(customer=customer, candidate=candidate, requested_by=analyst_user)

    async def go():
        comm = WebsocketCommunicator(application, f"/ws/dashboard/?token={token.key}", headers=HEADERS)
        connected, _ = await comm.connect(timeout=5)
        assert connected
        await comm.receive_json_from(timeout=5)  # snapshot
        doc = await sync_to_async(upload)()
        seen = []
        done = await _receive_until(
            comm, lambda m: m["type"] == "job" and m["job"]["id"] == str(doc.job_id) and m["job"]["status"] == "succeeded", seen
        )
        assert done["job"]["kind"] == "detect_batch" and done["job"]["progress"] == 100
        progress = [m["job"]["progress"] for m in seen if m["type"] == "job" and m["job"]["id"] == str(doc.job_id)]
        assert progress == sorted(progress) and any(0 < p < 100 for p in progress)
        messages = [m["job"]["message"] for m in seen if m["type"] == "job" and m["job"]["id"] == str(doc.job_id)]
        assert "page 1 of 3" in messages and messages[-1] == "2 signature(s) found"
        v = await sync_to_async(verify)(doc.id)
        msg = await _receive_until(comm, lambda m: m["type"] == "verification" and m["verification"]["status"] == "done", seen)
        assert msg["verification"]["id"] == v.id and msg["verification"]["source"] == "document"
        await comm.disconnect()

    asyncio.run(go())
