"""Files and images in questions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class FileSettings(BaseModel):
    """Files and images in questions."""

    file_max_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=1,
        description="Largest file read from a question (20 MB); larger ones get a line saying so",
    )
    files_max_per_question: int = Field(
        default=10,
        ge=0,
        description="Files read per question, imported thread included (`0`: files are not read)",
    )
    vision: Literal["auto", "true", "false"] = Field(
        default="auto",
        description=(
            "Send images to the model: `auto` (drop them and say so once if the server "
            "refuses), `true`, `false`"
        ),
    )
    file_workers: int = Field(
        default=1,
        ge=0,
        description="Processes that extract text from files off the event loop (`0`: threads)",
    )
    file_download_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a file download may take",
    )
    file_read_timeout: float = Field(
        default=120.0,
        gt=0,
        description=(
            "Seconds reading one file may take once a worker has it (waiting for a worker "
            "does not count)"
        ),
    )
    file_worker_memory_mb: int = Field(
        default=1024,
        ge=0,
        description="Address space of each file worker process (`RLIMIT_AS`; `0`: no limit)",
    )
