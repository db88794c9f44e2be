"""The model's side of a process: the OpenAI-compatible client and the reader of files."""

from __future__ import annotations

from dataclasses import dataclass

import openai

from bot.files.download import SlackFiles
from bot.files.reader import FileReader
from bot.llm.client import ChatModel, openai_client
from bot.settings import Settings
from bot.wiring.builders import chat_model, file_reader
from bot.wiring.slack import SlackSide


@dataclass
class ModelSide:
    """Own the model client and the file reader's workers."""

    openai: openai.AsyncOpenAI
    model: ChatModel
    files: FileReader | None

    @classmethod
    def open(cls, s: Settings, slack: SlackSide) -> ModelSide:
        """Build the streaming client and the reader of files in questions."""
        client = openai_client(
            api_key=s.openai_api_key,
            base_url=s.openai_base_url,
            max_retries=s.openai_max_retries,
            timeout=s.openai_timeout,
        )
        fetcher = SlackFiles(
            client=slack.client,
            session=slack.session,
            token_for=slack.token_for,
            api_url=s.slack_api_url,
            timeout=s.file_download_timeout,
        )
        return cls(client, chat_model(s, client), file_reader(s, fetcher))

    async def close(self) -> None:
        """Close the model client and stop the file workers."""
        await self.model.close()
        await self.openai.close()
        if self.files is not None:
            self.files.extractors.close()
