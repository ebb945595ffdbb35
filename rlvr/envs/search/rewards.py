"""Answer and trajectory rewards of the search env, all computed by code.

- Exact match and F1 are the generic QA metrics of `rlvr.rewards.qa` (SQuAD's normalisation).
- Entity credit (E-GRPO style): the share of the gold path's hidden entities (every path entity
  except the question's own head entity) that the agent's own text names, whole words matched
  after `knowledge.mentions.normalise`. Only what the agent wrote counts, never tool output.
- Rubrics (CaRR style): one per path hop, the statement (head, relation, tail) as the sentence
  `describe_triple` writes. A rubric is supported when both its entities are identified (named by
  the agent, or the question's head) and the text of a cited document contains its sentence.
  R_rubric = (supported rubrics connected to the answer entity E0 by breadth-first search over
  supported rubrics, entities as nodes) / (all rubrics). A supported rubric cut off from E0 by an
  unsupported hop adds nothing.
- C-GRPO: 0 when the answer is wrong, else 0.7 * outcome + 0.3 * R_rubric.

>>> rubric_reward([("Q", "r", "A"), ("A", "r", "B"), ("B", "r", "C")], [True, False, True], "C")
(0.6666666666666666, 0.3333333333333333)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rlvr.envs.knowledge.mentions import normalise

OUTCOME_WEIGHT, RUBRIC_WEIGHT = 0.7, 0.3


def mentions(text: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `text` between word boundaries (after `normalise`)."""
    wanted = normalise(phrase)
    return wanted.strip() != "" and wanted in normalise(text)


def named_entities(text: str, entities: Iterable[str]) -> set[str]:
    normalised = normalise(text)
    return {e for e in entities if normalise(e).strip() and normalise(e) in normalised}


def entity_share(agent_text: str, hidden_entities: Sequence[str]) -> float:
    """Share of `hidden_entities` the agent named (0.0 when there are none: nothing to credit)."""
    if not hidden_entities:
        return 0.0
    return len(named_entities(agent_text, hidden_entities)) / len(hidden_entities)


def supported_rubrics(rubrics: Sequence[Sequence[str]], sentences: Sequence[str], identified: set[str],
                      cited_texts: Sequence[str]) -> list[bool]:
    """For each rubric (head, relation, tail) with its sentence: entities identified and a cited
    document containing the sentence."""
    cited = [normalise(text) for text in cited_texts]
    flags = []
    for (head, _, tail), sentence in zip(rubrics, sentences, strict=True):
        wanted = normalise(sentence)
        flags.append(head in identified and tail in identified and any(wanted in text for text in cited))
    return flags


def rubric_reward(rubrics: Sequence[Sequence[str]], supported: Sequence[bool], answer_entity: str
                  ) -> tuple[float, float]:
    """(share of rubrics supported, R_rubric = share supported and connected to `answer_entity`)."""
    if not rubrics:
        return 0.0, 0.0
    edges = [(head, tail) for (head, _, tail), ok in zip(rubrics, supported, strict=True) if ok]
    reached, frontier = {answer_entity}, [answer_entity]
    while frontier:  # breadth-first over supported rubrics, undirected
        node = frontier.pop(0)
        for head, tail in edges:
            for near, far in ((head, tail), (tail, head)):
                if near == node and far not in reached:
                    reached.add(far)
                    frontier.append(far)
    connected = sum(1 for head, tail in edges if head in reached and tail in reached)
    return len(edges) / len(rubrics), connected / len(rubrics)


def cgrpo_reward(correct: bool, rubric: float) -> float:
    return OUTCOME_WEIGHT * 1.0 + RUBRIC_WEIGHT * rubric if correct else 0.0
