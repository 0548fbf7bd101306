"""Kubernetes side effects: guards, Jobs, Secrets, Events, status. Each call is
idempotent: "already in the wanted state" (404 on delete, 409 on create) is success."""
