"""SigWeb's own signals (no model imports here, so anything may connect to them early).

``job_started(sender=Job, job=job)``: a job's task has locked its row and marked it
running, before its work starts. The product has no receiver; tests connect one to slow
jobs down (``tests/support/job_delays.py``).
"""

from django.dispatch import Signal

job_started = Signal()
