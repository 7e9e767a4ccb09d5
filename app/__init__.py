"""The Foureyes desktop app (PySide6): review, sign, audit. Calls core; core never calls it."""
