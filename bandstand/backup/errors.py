"""The one error a backup or restore stops with: its text is meant for the operator."""


class BackupError(Exception):
    """Why a backup or restore cannot go on, in one sentence; nothing was changed."""
