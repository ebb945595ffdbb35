"""The one table of rlvr env ids: lazy entry points, defaults and a doc card per id.

Single-agent ids go into Gymnasium's registry (`gym.make("rlvr/MathTree-v0")` after
`import rlvr`, or `gym.make("rlvr:rlvr/MathTree-v0")` with no import). Multi-agent envs follow
PettingZoo and live in a small registry of their own, reached with `rlvr.make_multi`, because
Gymnasium's registry and `check_env` are for single-agent envs; the multi-agent ids are entered in
Gymnasium's registry only as pointers, so `gym.make("rlvr/Debate-v0")` fails with an error that
names `rlvr.make_multi`. Entry points are strings, so registering imports none of the env modules.

`resolve(env_id, **kwargs)` is the one id -> problems resolver: it builds the id's env (registry
keyword arguments, then `kwargs`) and returns its task, difficulty and split as a
`rlvr.core.stream.TaskSource`, so the trainer, `rlvr export`, TRL datasets and the debate env draw
exactly the problems `gym.make(env_id, **kwargs)` serves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlvr.core.hints import did_you_mean
from rlvr.core.stream import TaskSource
from rlvr.core.task import Task


@dataclass(frozen=True)
class EnvCard:
    """What `rlvr list` shows for an id: one paragraph a researcher can act on."""

    summary: str
    observation: str
    action: str
    reward: str
    task: str | None = None
    """'module:Class' of the Task, whose knobs the card lists."""


@dataclass(frozen=True)
class EnvEntry:
    id: str
    entry_point: str
    card: EnvCard
    kind: str = "gymnasium"
    """'gymnasium' (single agent) or 'pettingzoo' (multi-agent, see `make_multi`)."""
    max_episode_steps: int | None = None
    vector_entry_point: str | None = None
    modes: tuple[str, ...] = ("parallel", "aec")
    """PettingZoo APIs a multi-agent env offers (turn-based games have no parallel form)."""
    kwargs: dict[str, Any] = field(default_factory=dict)


def load(entry_point: str) -> Any:
    """Import 'package.module:Name' and return the object, or the module itself when no ':Name'
    is given (PettingZoo envs are versioned modules with `env()` and `parallel_env()`)."""
    module_name, _, attr = entry_point.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


ENTRIES: tuple[EnvEntry, ...] = (
    EnvEntry(
        id="rlvr/MathTree-v0",
        entry_point="rlvr.envs.mathtree.env:MathTreeEnv",
        vector_entry_point="rlvr.envs.mathtree.vector:MathTreeVectorEnv",
        card=EnvCard(
            summary="The ROVER token-level MDP: write an arithmetic expression equal to a target "
            "(optionally using given numbers), one token a step; a tree with binary terminal reward "
            "and an exact Q-uniform oracle for small vocabularies.",
            observation="Dict(prompt_ids, prompt_length, response_ids, response_length), padded token ids",
            action="Discrete(|V|) one token a step (action_mode='token'), or a sequence of ids (action_mode='chunk')",
            reward="1 if the finished expression parses and equals the target (exact Fractions), else 0; "
            "components: correct, parsed, uses_numbers",
            task="rlvr.envs.mathtree.task:MathTreeTask",
        ),
    ),
    EnvEntry(
        id="rlvr/MathTreeStep-v0",
        entry_point="rlvr.envs.mathtree.step_env:MathTreeStepEnv",
        card=EnvCard(
            summary="Step-level MathTree: each action is one 'a op b = c' step over the remaining "
            "numbers; the state keeps the step history, so the MDP stays a tree.",
            observation="text: prompt plus the steps taken so far",
            action="text: one step 'a op b = c'",
            reward="1 when the last remaining number equals the target, 0 otherwise; an invalid step "
            "ends the episode with reward 0 and the reason in info",
            task="rlvr.envs.mathtree.task:MathTreeTask",
        ),
    ),
    EnvEntry(
        id="rlvr/RandomCalc-v0",
        entry_point="rlvr.envs.random_calc:RandomCalcEnv",
        card=EnvCard(
            summary="Leakage-free arithmetic: a random expression tree with exactly k operations "
            "(k = 1..20), evaluated exactly.",
            observation="text prompt",
            action="text response (answer in \\boxed{}, an 'Answer:' line or the last number)",
            reward="1 if the extracted answer equals the exact value; components: correct, "
            "relative_error_reward (logged only)",
            task="rlvr.envs.random_calc:RandomCalcTask",
        ),
    ),
    EnvEntry(
        id="rlvr/Math-v0",
        entry_point="rlvr.envs.math_text.env:MathEnv",
        card=EnvCard(
            summary="Free-form math answers, from a built-in generator or a local JSONL/Parquet file "
            "with question/answer columns, verified by the exact fast path then math-verify.",
            observation="text prompt",
            action="text response",
            reward="1 if the extracted answer is equivalent to the gold answer, else 0 with the reason",
            task="rlvr.envs.math_text.task:MathTask",
        ),
    ),
    EnvEntry(
        id="rlvr/TwentyQuestions-v0",
        entry_point="rlvr.envs.elicitation.env:TwentyQuestionsEnv",
        card=EnvCard(
            summary="Twenty questions with a noisy answerer: find one of K fictional entities by asking "
            "about M yes/no attributes (answers flipped with probability eps), then guess within a budget.",
            observation="Dict(prior, likelihood, answer_counts, questions_left) float32 boxes "
            "(action_mode='discrete'), or the prompt plus the transcript (action_mode='text')",
            action="Discrete(M + K): ask attribute j or guess entity k; text: 'ask: <attribute>' / "
            "'guess: <entity>'",
            reward="exact Bayesian information gain H(before) - H(after) in bits per question, plus the "
            "bonus knob for a right guess; a wrong guess ends the episode with 0; unreadable actions earn "
            "0 with the reason and use a question",
            task="rlvr.envs.elicitation.task:TwentyQuestionsTask",
        ),
    ),
    EnvEntry(
        id="rlvr/OpinionPoll-v0",
        entry_point="rlvr.envs.elicitation.env:OpinionPollEnv",
        card=EnvCard(
            summary="Opinion polling: find a respondent's latent group among C by asking Likert questions "
            "(answers 1..5 drawn from group-conditional tables) within a question budget.",
            observation="Dict(prior, likelihood, answer_counts, questions_left) float32 boxes "
            "(action_mode='discrete'), or the prompt plus the transcript (action_mode='text')",
            action="Discrete(Q) question ids (Discrete(Q + C) with final_guess=True); text: 'ask: q3' / "
            "'guess: group B'",
            reward="drop in posterior entropy of the group (bits) per question; the episode ends at the "
            "budget (correct = the posterior's most likely group is the hidden one), or with final_guess=True "
            "at a guess paid the bonus knob when right",
            task="rlvr.envs.elicitation.task:OpinionPollTask",
        ),
    ),
    EnvEntry(
        id="rlvr/StudentAssess-v0",
        entry_point="rlvr.envs.elicitation.env:StudentAssessEnv",
        card=EnvCard(
            summary="Adaptive testing under a 2PL item response model, P(correct) = sigmoid(a_j (theta - b_j)): "
            "find the student's ability cell on a grid over [-3, 3] by choosing items within a budget.",
            observation="Dict(prior, likelihood, answer_counts, questions_left) float32 boxes "
            "(action_mode='discrete'), or the prompt plus the transcript (action_mode='text')",
            action="Discrete(J) item ids (Discrete(J + G) with final_guess=True); text: 'ask: item 3' / "
            "'guess: level 4'",
            reward="drop in posterior entropy of the ability cell (bits) per item; the episode ends at the "
            "budget (correct = the posterior's most likely cell is the hidden one), or with final_guess=True "
            "at a guess paid the bonus knob when right",
            task="rlvr.envs.elicitation.task:StudentAssessTask",
        ),
    ),
    EnvEntry(
        id="rlvr/Countdown-v0",
        entry_point="rlvr.envs.countdown.env:CountdownEnv",
        card=EnvCard(
            summary="Countdown: use each given number exactly once with + - * / and parentheses to write "
            "an expression equal to the target (exact Fractions); solvable by construction.",
            observation="text prompt",
            action="text response: the expression in <answer></answer> tags, a \\boxed{}, or the last line "
            "(a trailing '= N' is allowed when N is its value)",
            reward="1 correct, 0.1 well-formed but wrong, 0 unreadable; components: correct, format, uses_numbers",
            task="rlvr.envs.countdown.task:CountdownTask",
        ),
    ),
    EnvEntry(
        id="rlvr/Game24-v0",
        entry_point="rlvr.envs.game24.env:Game24Env",
        card=EnvCard(
            summary="Game of 24: one expression using four numbers (1..13) exactly once that equals 24, "
            "exactly (8/(3-8/3) counts); problems drawn uniformly from the 1,362 solvable multisets, "
            "difficulty by number of distinct solutions.",
            observation="text prompt",
            action="text response: the expression in <answer></answer> tags, a \\boxed{}, or the last line",
            reward="1 if the expression uses each number once and equals the target, else 0 with the reason; "
            "components: correct, format, uses_numbers",
            task="rlvr.envs.game24.task:Game24Task",
        ),
    ),
    EnvEntry(
        id="rlvr/Game24Step-v0",
        entry_point="rlvr.envs.game24.step_env:Game24StepEnv",
        card=EnvCard(
            summary="Step-level Game of 24: each action is one 'a op b = c (left: ...)' step over the "
            "remaining numbers; three steps; the state keeps the step history, so the MDP is a tree.",
            observation="text: prompt plus the steps taken so far",
            action="text: one step 'a op b = c', optionally followed by a correct '(left: ...)' note",
            reward="1 when the last number equals the target, else 0; an invalid step ends the episode "
            "with reward 0 and the reason in info",
            task="rlvr.envs.game24.task:Game24Task",
        ),
    ),
    EnvEntry(
        id="rlvr/BlocksWorld-v0",
        entry_point="rlvr.envs.blocksworld.env:BlocksWorldEnv",
        card=EnvCard(
            summary="BlocksWorld planning with our own STRIPS simulator (pick up / unstack / put down / stack): "
            "move lettered blocks from an initial arrangement to goal 'X on Y' facts; difficulty = number of "
            "blocks and the optimal plan length (found by A*, kept only when it equals the knob).",
            observation="text prompt: rules, initial state, goal",
            action="text response: the whole plan in <plan> </plan> tags, one action per line",
            reward="1 if every action is legal and the goal holds at the end (minus overlength_penalty per action "
            "beyond optimal); an unreadable or illegal line earns 0 with the line and failed precondition in info; "
            "components: correct, executable, optimal",
            task="rlvr.envs.blocksworld.task:BlocksWorldTask",
        ),
    ),
    EnvEntry(
        id="rlvr/BlocksWorldStep-v0",
        entry_point="rlvr.envs.blocksworld.step_env:BlocksWorldStepEnv",
        card=EnvCard(
            summary="Multi-turn BlocksWorld: one action a turn ('unstack A from B', 'pick up C'); the oracle "
            "gives the next action of an optimal plan from any state.",
            observation="text: prompt, actions so far and the current state",
            action="text: one action",
            reward="1 when the goal first holds (minus overlength_penalty per action beyond optimal); an illegal "
            "action earns 0 with the reason in info and ends the episode (illegal_action='end') or leaves the "
            "state unchanged (illegal_action='continue'); truncated with 0 at step_limit",
            task="rlvr.envs.blocksworld.task:BlocksWorldTask",
        ),
        max_episode_steps=100,
    ),
    EnvEntry(
        id="rlvr/ProntoQA-v0",
        entry_point="rlvr.envs.prontoqa.env:ProntoQAEnv",
        card=EnvCard(
            summary="PrOntoQA-style deduction over a generated fictional ontology ('Every wumpus is a yumpus.'): "
            "true or false with a proof chain of exactly `hops` modus ponens steps, distractor rules and "
            "optional negation; labels checked by forward chaining.",
            observation="text prompt: shuffled rules, one fact, 'True or false: Rex is a ...'",
            action="text response: <proof> one step per line </proof> then <answer>True|False</answer>",
            reward="(1 - proof_weight) * correct + proof_weight * proof_prefix, proof_weight 0.5 by default; "
            "proof_prefix = share of the gold chain's steps reproduced in order from the first; "
            "components: correct, proof_prefix",
            task="rlvr.envs.prontoqa.task:ProntoQATask",
        ),
    ),
    EnvEntry(
        id="rlvr/KGPath-v0",
        entry_point="rlvr.envs.kg.env:KGPathEnv",
        card=EnvCard(
            summary="Knowledge-graph multi-hop questions: a small fictional typed graph per problem; the prompt "
            "lists the path's facts plus distractor facts and asks 'What is the r_L of ... the r_1 of E0?' "
            "(unique answer by construction); free-form or multiple choice. Trains on 1-3 hops.",
            observation="text prompt (facts, question, options in multiple_choice format)",
            action="text response: reasoning, then the entity (or option letter) in <answer></answer> tags, "
            "a \\boxed{} or an 'Answer:' line",
            reward="reward_mode='binary' (default): 1 if the answer is the gold entity; 'paper': +0.1/-1.0 plus "
            "path alignment min(1.5, (1.2*cov + 0.3*[hits>=2])*rep); 'paper_entity' and 'entity' use the "
            "order-aware entity coverage; components: correct, path_coverage, entity_coverage, "
            "path_alignment, repetition",
            task="rlvr.envs.kg.task:KGPathTask",
        ),
    ),
    EnvEntry(
        id="rlvr/KGPathLong-v0",
        entry_point="rlvr.envs.kg.env:KGPathEnv",
        kwargs={"hops": (4, 5)},
        card=EnvCard(
            summary="The held-out long-path test of rlvr/KGPath-v0: the same questions with 4-5 hop paths.",
            observation="text prompt (facts, question, options in multiple_choice format)",
            action="text response: reasoning, then the entity (or option letter) in <answer></answer> tags",
            reward="as rlvr/KGPath-v0 (reward_mode='binary' by default)",
            task="rlvr.envs.kg.task:KGPathTask",
        ),
    ),
    EnvEntry(
        id="rlvr/Pluralistic-v0",
        entry_point="rlvr.envs.preference.pluralistic:PluralisticEnv",
        card=EnvCard(
            summary="One reply read by K synthetic user groups with conflicting tastes (weights in [-1, 1] over "
            "code-computed features: content words, politeness markers, bullet lines, numerals); modes mean, "
            "maxmin (egalitarian, MaxMin-RLHF) or routed by a one-hot context.",
            observation="text prompt: topic, each group's weights (describe_groups=True), the mode, the one-hot context when routed",
            action="text response with the reply inside <response> </response> tags",
            reward="mean | min | routed group's r_k, each r_k in [0, 1]; correct = the optimum over the feature grid; "
            "components: correct, format, group_<k>, mean, min",
            task="rlvr.envs.preference.pluralistic:PluralisticTask",
        ),
    ),
    EnvEntry(
        id="rlvr/GTAlign-v0",
        entry_point="rlvr.envs.preference.gtalign:GTAlignEnv",
        card=EnvCard(
            summary="Game-theoretic alignment: a (user utility U, assistant utility L) table over user types x "
            "response strategies; name the strategy with the best welfare W = sqrt(U*L) for the current user.",
            observation="text prompt: the payoff table and the current user type",
            action="text response: a strategy code or name in <answer></answer> tags",
            reward="W(chosen) / max W for the user's type; correct = the unique welfare-best strategy; "
            "components: correct, format, welfare, user_utility, assistant_utility",
            task="rlvr.envs.preference.gtalign:GTAlignTask",
        ),
    ),
    EnvEntry(
        id="rlvr/MicroEcon-v0",
        entry_point="rlvr.envs.microecon:MicroEconEnv",
        card=EnvCard(
            summary="Linear supply and demand with exact rational answers: equilibrium price and quantity, buyer "
            "price and incidence under a per-unit tax, consumer surplus, deadweight loss.",
            observation="text prompt",
            action="text response (answer in \\boxed{}, an 'Answer:' line or the last number)",
            reward="1 if the answer equals the exact fraction (exact fast path, then math-verify), else 0 with the reason; "
            "components: correct, format",
            task="rlvr.envs.microecon:MicroEconTask",
        ),
    ),
    EnvEntry(
        id="rlvr/AbstainQA-v0",
        entry_point="rlvr.envs.preference.abstain:AbstainQAEnv",
        card=EnvCard(
            summary="Multiple choice with an 'I don't know' option: arithmetic or fictional-fact questions, some "
            "unanswerable from the prompt; the Distributional Correctness Score is available as a metric from option log-probs.",
            observation="text prompt: question and lettered options, the last being \"I don't know\"",
            action="text response: one option letter (or the option's text) in <answer></answer> tags",
            reward="reward_correct (1) for the gold option, -penalty_wrong (-1) for another or an unreadable answer, "
            "0 for \"I don't know\"; components: correct, abstained, wrong, format, answerable",
            task="rlvr.envs.preference.abstain:AbstainQATask",
        ),
    ),
    EnvEntry(
        id="rlvr/Sudoku-v0",
        entry_point="rlvr.envs.puzzles.grid.sudoku:SudokuEnv",
        card=EnvCard(
            summary="Sudoku on 4x4, 6x6 or 9x9 boards; random full grid, cells emptied while the solver "
            "proves a unique solution (given_share sets how many stay; unique=False allows several).",
            observation="text prompt (the board, '.' for empty cells)",
            action="text response: the completed grid in <answer></answer>, one row per line",
            reward="1 if every row, column and box holds 1..N once and the givens stay (any valid grid), "
            "else 0; components: correct, format, cells_filled, rules_satisfied (logged)",
            task="rlvr.envs.puzzles.grid.sudoku:SudokuTask",
        ),
    ),
    EnvEntry(
        id="rlvr/Futoshiki-v0",
        entry_point="rlvr.envs.puzzles.grid.futoshiki:FutoshikiEnv",
        card=EnvCard(
            summary="Futoshiki: an N x N Latin square with inequality clues between neighbouring cells; "
            "givens then inequalities are removed while the solver proves a unique solution.",
            observation="text prompt (board with < > ^ v signs, plus the inequalities as a list)",
            action="text response: the completed grid in <answer></answer>, one row per line",
            reward="1 if the grid is a Latin square meeting every given and inequality (any valid grid), "
            "else 0; components: correct, format, cells_filled, rules_satisfied (logged)",
            task="rlvr.envs.puzzles.grid.futoshiki:FutoshikiTask",
        ),
    ),
    EnvEntry(
        id="rlvr/Skyscraper-v0",
        entry_point="rlvr.envs.puzzles.grid.skyscraper:SkyscraperEnv",
        card=EnvCard(
            summary="Skyscrapers: an N x N Latin square of heights with visibility clues on the edges "
            "(N = 3..6); clues are removed while the solver proves a unique solution.",
            observation="text prompt (the board framed by its edge clues)",
            action="text response: the completed grid in <answer></answer>, one row per line",
            reward="1 if the grid is a Latin square meeting every given and edge clue (any valid grid), "
            "else 0; components: correct, format, cells_filled, rules_satisfied (logged)",
            task="rlvr.envs.puzzles.grid.skyscraper:SkyscraperTask",
        ),
    ),
    EnvEntry(
        id="rlvr/Kukurasu-v0",
        entry_point="rlvr.envs.puzzles.grid.kukurasu:KukurasuEnv",
        card=EnvCard(
            summary="Kukurasu: fill cells of a 0/1 grid so each row's filled column numbers and each "
            "column's filled row numbers sum to the clues; cells are revealed until the solution is unique.",
            observation="text prompt (row and column totals, revealed cells)",
            action="text response: the 0/1 grid in <answer></answer>, one row per line",
            reward="1 if every weighted row and column sum and every revealed cell holds (any valid grid), "
            "else 0; components: correct, format, cells_filled, rules_satisfied (logged)",
            task="rlvr.envs.puzzles.grid.kukurasu:KukurasuTask",
        ),
    ),
    EnvEntry(
        id="rlvr/Calcudoko-v0",
        entry_point="rlvr.envs.puzzles.grid.calcudoko:CalcudokoEnv",
        card=EnvCard(
            summary="Calcudoko (KenKen-style): an N x N Latin square cut into cages, each with a target "
            "and an operator (+ - * / or a single given); cage layouts are redrawn until the solution is unique.",
            observation="text prompt (a letter map of the cages and the list of targets)",
            action="text response: the completed grid in <answer></answer>, one row per line",
            reward="1 if the grid is a Latin square and every cage makes its target (any valid grid), "
            "else 0; components: correct, format, cells_filled, rules_satisfied (logged)",
            task="rlvr.envs.puzzles.grid.calcudoko:CalcudokoTask",
        ),
    ),
    EnvEntry(
        id="rlvr/StarPlacement-v0",
        entry_point="rlvr.envs.puzzles.grid.star_placement:StarPlacementEnv",
        card=EnvCard(
            summary="Star Battle: an NxN grid split into N lettered regions; place k stars in every row, column "
            "and region with no two stars touching (diagonals included); unique solution proved by search by default.",
            observation="text prompt: the region grid",
            action="text response: the stars as 1-based (row, column) pairs in <answer></answer> tags",
            reward="1 if the listed stars obey every rule (any valid placement passes), else 0 with the broken rule; "
            "components: correct, rules (share of rules met, logged), format",
            task="rlvr.envs.puzzles.grid.star_placement:StarPlacementTask",
        ),
    ),
    EnvEntry(
        id="rlvr/WebOfLies-v0",
        entry_point="rlvr.envs.puzzles.logic.web_of_lies:WebOfLiesEnv",
        card=EnvCard(
            summary="Web of lies: N fictional people each always tell the truth or always lie; one fact and "
            "statements 'X says Y lies'; does Z tell the truth? The answer is unique by enumeration of all 2^N assignments.",
            observation="text prompt",
            action="text response: Yes or No in <answer></answer> tags",
            reward="1 if the answer is the one every consistent assignment gives, else 0; components: correct",
            task="rlvr.envs.puzzles.logic.web_of_lies:WebOfLiesTask",
        ),
    ),
    EnvEntry(
        id="rlvr/Cryptarithm-v0",
        entry_point="rlvr.envs.puzzles.logic.cryptarithm:CryptarithmEnv",
        card=EnvCard(
            summary="Cryptarithm: an addition of random letter strings (KQX + QZW = ZKPW); distinct letters are "
            "distinct digits, no leading zeros; the unique digit mapping is proved by an exhaustive column search.",
            observation="text prompt",
            action="text response: the digit of every letter, 'A=1, B=2, ...', in <answer></answer> tags",
            reward="1 if the mapping obeys the rules and the sum holds, else 0 with the reason; components: "
            "correct, format, sum_holds (logged)",
            task="rlvr.envs.puzzles.logic.cryptarithm:CryptarithmTask",
        ),
    ),
    EnvEntry(
        id="rlvr/Dyck-v0",
        entry_point="rlvr.envs.puzzles.logic.dyck:DyckEnv",
        card=EnvCard(
            summary="Dyck completion: a prefix of brackets over up to four types (), [], {}, <>; give the shortest "
            "closing sequence.",
            observation="text prompt",
            action="text response: the closing brackets in <answer></answer> tags (spaces optional)",
            reward="1 if prefix + answer is balanced and the answer is the shortest completion, else 0; "
            "components: correct, balanced (any balancing completion, logged)",
            task="rlvr.envs.puzzles.logic.dyck:DyckTask",
        ),
    ),
    EnvEntry(
        id="rlvr/BooleanExpr-v0",
        entry_point="rlvr.envs.puzzles.logic.boolean_expr:BooleanExprEnv",
        card=EnvCard(
            summary="Boolean expressions: evaluate a random nested expression over True/False with not/and/or "
            "and parentheses (depth knob); labels balanced; evaluated by a bounded parser, never eval.",
            observation="text prompt",
            action="text response: True or False in <answer></answer> tags",
            reward="1 if the answer equals the expression's value, else 0; components: correct",
            task="rlvr.envs.puzzles.logic.boolean_expr:BooleanExprTask",
        ),
    ),
    EnvEntry(
        id="rlvr/SearchQA-v0",
        entry_point="rlvr.envs.search.env:SearchQAEnv",
        card=EnvCard(
            summary="Multi-hop questions answered by a search agent over a local BM25 corpus generated "
            "from a fictional knowledge graph (one document per entity plus distractors), or the user's "
            "own JSONL corpus and questions; tools search(query, k), open(doc_id), answer(text, citations).",
            observation="text: prompt plus the transcript of calls and tool outputs (info['tool_output'] = latest output)",
            action="text: one tool call, as Search-R1 tags (<search>, <open>, <answer> + <cite>) or an "
            "OpenAI-style JSON function call",
            reward="reward_mode em | f1 | entity (E-GRPO partial credit) | rubric (CaRR supported and connected "
            "rubrics over cited, opened documents) | cgrpo (0 if wrong, else 0.7 + 0.3 * rubric); malformed calls "
            "use the tool budget; a call beyond it ends the episode with 0",
            task="rlvr.envs.search.task:SearchQATask",
        ),
    ),
    EnvEntry(
        id="rlvr/Debate-v0",
        entry_point="rlvr.envs.debate_v0",
        kind="pettingzoo",
        card=EnvCard(
            summary="Multi-agent debate (PettingZoo): N debaters answer a question from any registered text "
            "task over R rounds, seeing peers' previous messages; init vanilla|diverse, update "
            "vanilla|confidence; final answer = majority vote (ties by summed confidence, then seeded draw).",
            observation="text per debater: the question, its previous answer and the peers' previous messages",
            action="text ('answer: X\\nconfidence: 0.8\\nrationale: ...' or any task response) or a dict "
            "{answer, confidence, rationale}; under init='diverse' a list of samples in round 0",
            reward="at the last round: l1*[a_i = y] + l2*[vote = y] - l3*(c_i - [a_i = y])^2 (defaults 1, 1, 1); "
            "an unusable message earns 0 with the reason; info: round-0 majority-vote correctness, transcript",
        ),
    ),
    EnvEntry(
        id="rlvr/TwentyQuestions2P-v0",
        entry_point="rlvr.envs.twenty_questions_v0",
        kind="pettingzoo",
        modes=("aec",),
        card=EnvCard(
            summary="Two-player twenty questions (PettingZoo AEC, turn-based, no parallel form): a questioner "
            "asks about M yes/no attributes or guesses one of K entities; an answerer agent, who sees the hidden "
            "entity, replies yes/no (truthfully or not).",
            observation="questioner: Dict(prior, likelihood, answer_counts, questions_left) or prompt+transcript text; "
            "answerer: Dict(entity_attributes, question one-hot) or text naming the entity and the question",
            action="questioner Discrete(M + K) or 'ask: <attribute>' / 'guess: <entity>'; answerer Discrete(2) "
            "(0 yes, 1 no) or 'yes' / 'no'",
            reward="questioner: exact information gain (bits) of its eps-noise posterior per answer + bonus for a "
            "right guess; answerer: 1 per answer true to the latent table (answerer_reward='truthful', default) or "
            "the questioner's reward ('team'); unreadable actions earn 0 with the reason",
            task="rlvr.envs.elicitation.task:TwentyQuestionsTask",
        ),
    ),
)

MULTI_AGENT: dict[str, EnvEntry] = {e.id: e for e in ENTRIES if e.kind == "pettingzoo"}


class MultiAgentIdError(gym.error.Error, ValueError):
    """`gym.make` (or a single-agent helper such as `resolve`) was given a multi-agent id."""


def multi_agent_message(env_id: str) -> str:
    modes = MULTI_AGENT[env_id].modes
    return (f"{env_id} is a multi-agent (PettingZoo) env, not a single-agent Gymnasium one: build it with "
            f"rlvr.make_multi({env_id!r}, mode={modes[0]!r}) (modes: {', '.join(modes)})")


def multi_agent_only(multi_agent_id: str, **kwargs: Any) -> Any:
    """Gymnasium entry point of a multi-agent id: refuses, naming `rlvr.make_multi`."""
    raise MultiAgentIdError(multi_agent_message(multi_agent_id))


def register_all() -> None:
    """Register every single-agent id with Gymnasium, and each multi-agent id as a pointer to
    `rlvr.make_multi` (idempotent)."""
    for entry in ENTRIES:
        if entry.id in gym.registry:
            continue
        if entry.kind != "gymnasium":
            gym.register(id=entry.id, entry_point="rlvr.registration:multi_agent_only",
                         kwargs={"multi_agent_id": entry.id}, disable_env_checker=True)
            continue
        gym.register(
            id=entry.id,
            entry_point=entry.entry_point,
            vector_entry_point=entry.vector_entry_point,
            max_episode_steps=entry.max_episode_steps,
            kwargs=dict(entry.kwargs),
        )


def entry(env_id: str) -> EnvEntry:
    """The table entry of an id ('rlvr:rlvr/X' as for gym.make works too); an unknown id is an
    error naming close matches."""
    if isinstance(env_id, str) and ":" in env_id:
        env_id = env_id.partition(":")[2]
    for item in ENTRIES:
        if item.id == env_id:
            return item
    raise KeyError(f"unknown rlvr env id {env_id!r}" + did_you_mean(str(env_id), [e.id for e in ENTRIES]))


def make_env(env_id: str, **kwargs: Any) -> gym.Env:
    """The raw env of a single-agent id: its entry point called with the registry's keyword
    arguments and `kwargs` on top, as `gym.make(env_id, **kwargs).unwrapped` is (no wrappers)."""
    item = entry(env_id)
    if item.kind != "gymnasium":
        raise MultiAgentIdError(multi_agent_message(item.id))
    return load(item.entry_point)(**{**item.kwargs, **kwargs})


def resolve(env_id: str, **kwargs: Any) -> TaskSource:
    """The task, difficulty and split that `gym.make(env_id, **kwargs)` plays (see the module doc).

    `kwargs` are the env's constructor keywords (difficulty knobs, `difficulty=`, `split=`,
    `template=`, task options); unknown ones are errors naming close matches.
    """
    env = make_env(env_id, **kwargs)
    try:
        task = getattr(env, "task", None)
        if not isinstance(task, Task):
            raise ValueError(f"{env_id} has no rlvr Task behind it, so it has no problem stream")
        return TaskSource(task, dict(env.difficulty), env.split, entry(env_id).id)
    finally:
        env.close()


def make_multi(env_id: str, mode: str = "parallel", **kwargs: Any) -> Any:
    """Build a multi-agent (PettingZoo) env: mode 'parallel' or 'aec'."""
    if env_id not in MULTI_AGENT:
        raise KeyError(
            f"unknown multi-agent env id {env_id!r}; registered: {sorted(MULTI_AGENT)}"
            + did_you_mean(env_id, MULTI_AGENT)
        )
    modes = MULTI_AGENT[env_id].modes
    if mode not in modes:
        raise ValueError(f"{env_id} offers mode {' or '.join(repr(m) for m in modes)}, got {mode!r}")
    module = load(MULTI_AGENT[env_id].entry_point)
    factory: Callable[..., Any] = module.parallel_env if mode == "parallel" else module.env
    return factory(**kwargs)


def ids(kind: str | None = None) -> list[str]:
    """Every registered id, optionally of one kind ('gymnasium' or 'pettingzoo')."""
    return [e.id for e in ENTRIES if kind is None or e.kind == kind]
