"""Prompt templates: how a task's question becomes prompt text and chat messages.

Each task ships a default template carrying its answer-format instruction; users pass their own
(`template=PromptTemplate(...)`) to change wording or the instruction without touching the task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PromptTemplate:
    """`text` is formatted with `question`, `instruction` and any task fields."""

    instruction: str = "Put your final answer within \\boxed{}."
    text: str = "{question}\n\n{instruction}"
    system: str | None = None

    def render(self, question: str, **fields: Any) -> tuple[str, tuple[Mapping[str, str], ...]]:
        """Return (prompt text, chat messages) for one question."""
        body = self.text.format(question=question, instruction=self.instruction, **fields).strip()
        messages: list[Mapping[str, str]] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": body})
        prompt = body if not self.system else f"{self.system}\n\n{body}"
        return prompt, tuple(messages)
