"""Job-queue engine comparison; see README.md."""
