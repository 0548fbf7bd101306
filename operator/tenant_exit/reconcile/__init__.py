"""One reconcile pass, between the kopf handlers and the pure phase machine:
observe the cluster, let `phases` decide, execute the side effects through the
adapters, fold and publish the new status and its Events.

Kept apart from handlers.py so the kopf wiring stays a page of decorators, and
apart from phases/ so the decisions stay free of I/O.
"""
