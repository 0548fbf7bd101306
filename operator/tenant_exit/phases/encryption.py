"""Is the backup's encryption post-quantum? (pure)

Care records are kept for 20 years (WGBO): ciphertext stored today must
survive "harvest now, decrypt later". age 1.3's hybrid recipients (ML-KEM-768 +
X25519, `age1pq1...`) do; classical X25519 ones (`age1...`) may not. A
classical-only exit is not refused — the customer may have no other tool yet —
but says so once, as a Warning Event (a False condition) and in the README.
"""

from __future__ import annotations

from tenant_exit.api import conditions as c
from tenant_exit.api.resource import TenantExit
from tenant_exit.api.status import ConditionStatus, Phase
from tenant_exit.api.types import is_post_quantum
from tenant_exit.phases.actions import Action, SetCondition

CLASSICAL_MESSAGE = (
    "Every ageRecipient is a classical X25519 key: a future quantum computer could "
    "decrypt this backup, which must be kept for 20 years. Ask the customer for a "
    "post-quantum key (age-keygen -pq, age1pq1...) and replace the recipients before "
    "the backup starts."
)
POST_QUANTUM_MESSAGE = (
    "Every ageRecipient is a hybrid post-quantum key (ML-KEM-768 + X25519)."
)


def decide(exit: TenantExit) -> list[Action]:
    destination = exit.spec.destination
    if destination is None or exit.status.phase is Phase.DELETED:
        return []
    if all(is_post_quantum(r) for r in destination.encryption.age_recipients):
        wanted = (ConditionStatus.TRUE, c.POST_QUANTUM_RECIPIENTS, POST_QUANTUM_MESSAGE)
    else:
        wanted = (ConditionStatus.FALSE, c.CLASSICAL_RECIPIENTS_ONLY, CLASSICAL_MESSAGE)
    current = c.find(exit.status.conditions, c.POST_QUANTUM_ENCRYPTION)
    if current is not None and (current.status, current.reason) == wanted[:2]:
        return []
    return [SetCondition(c.POST_QUANTUM_ENCRYPTION, *wanted)]
