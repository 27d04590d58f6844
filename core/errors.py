"""Errors a user can fix. The CLI prints them as one line and exits 2."""


class UserError(Exception):
    """Bad input: the message names the problem and the fix."""
