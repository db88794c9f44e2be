"""`python -m bot doctor`: check a configuration against the services it names."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `doctor` on the command line (the checks are imported when it runs)."""
    doctor = sub.add_parser(
        "doctor", help="check the configuration against Slack, the model server and the database"
    )
    doctor.add_argument(
        "--no-model", action="store_true", help="skip the requests to the model server"
    )
