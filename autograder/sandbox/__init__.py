"""Sandbox step: sandboxed execution of student code: the command (command.py), the supervisor (supervisor.py),
the child-side runner (runner.py) and the wire format they share (protocol.py)."""
