"""The Foureyes desktop reviewer app (PySide6): one front end hung off `core`.

Nothing in `core` imports from here. Views are small widgets; `views.main_window` only wires
them; every network, disk or keyring call runs on a worker (see `app.workers`).
"""
