"""`kubectl tenantexit`: a kubectl plugin that tells an exit's story and
confirms receipts safely (entry point `kubectl-tenantexit`)."""
