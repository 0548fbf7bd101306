"""What the customer runs on the archive they received (`tenant-exit load`).

Needs no Kubernetes and no access to the platform: the downloaded files, the
customer's age identity and a MySQL/MariaDB server the customer runs. Never
imports kopf, the handlers or the cluster adapters.
"""
