"""What kind of question this is, decided in code: rules first, the model as a constrained classifier
only where the rules can't tell.

Kinds: a fact about a paper; which papers are about a topic (list); what to read for a need
(recommend); compare named papers or methods; an overview of a topic; a follow-up to the previous
turn; and out of scope (set later, when nothing in the papers is relevant).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from service.engines.protocol import Generator
from service.prompts import load_prompt

FACT, LIST, RECOMMEND, COMPARE, OVERVIEW, FOLLOW_UP, OUT_OF_SCOPE = (
    "fact", "list", "recommend", "compare", "overview", "follow_up", "out_of_scope")
KINDS = (FACT, LIST, RECOMMEND, COMPARE, OVERVIEW, FOLLOW_UP, OUT_OF_SCOPE)
# the kinds the model may choose between when the rules can't tell (the others are never guessed)
MODEL_CHOICES = (FACT, LIST, RECOMMEND, COMPARE, OVERVIEW)

_PAPERS = r"(?:papers?|works?|studies|articles|preprints|publications)"
_SEVERAL = r"(?:papers|works|studies|articles|preprints|publications)"  # "which paper …?" asks a fact
_COMPARE = re.compile(
    r"\b(?:compare|comparing|comparison|comparative|contrast|versus|vs\.?|differ(?:s|ence|ences)?\b|"
    r"(?:how|what) (?:is|are) .{1,60}? (?:different|similar)|the same as|better than|outperform|"
    # "How do A and B each speed up inference?": one question of two things side by side ("how many … each"
    # is a count per paper, a fact)
    # "What pre-training objectives do A and B each use?", "A and B both study X: what problem does each see?"
    r"^(?:how(?! many| much)|what|which|in what ways?)(?: [\w-]+){0,4} (?:do|does|did) .{1,80}? and .{1,80}? each|"
    r"^.{1,80}? and .{1,80}? both\b.{1,100}\b(?:does|do|did) each)\b",
    re.IGNORECASE)
_LIST = re.compile(
    rf"^(?:which|what|list|show me|find)(?: of)?(?: (?:the|today's|today’s|these|new|recent|other))* {_SEVERAL}\b|"
    rf"\bwhich {_SEVERAL}\b|^(?:are|is) there (?:(?:any|a|other) )?{_PAPERS}\b|^any {_PAPERS}\b|^list\b|"
    rf"\bhow many {_PAPERS}\b|"
    # "Which of these are speech papers?", "which ones of today's use X?" (not "which of these two …")
    r"^which (?:ones? )?of (?:these|them|today's|today’s|the day's|the day’s)\b(?! (?:two|three|both)\b)|"
    # "is anyone working on X?", "anything on X?", "does anything today read X?", "did anyone try X?",
    # "has anybody looked at X?", "is there anything on X?", "who's working on X?"
    r"^(?:(?:is|are|does|do|did|has|have|was|were) )?(?:anything|any ?one|any ?body|someone|somebody)\b|"
    r"^(?:is|are) there (?:anything|something)\b|^who(?:'s|’s| is| are) [a-z]+ing\b|"
    # "I'm looking for papers on X", "find me work on X", "papers using X?"
    rf"^(?:i'?m|i’m|i am|we'?re|we are) looking for (?:some |any )?{_SEVERAL}\b|"
    # "show me fully unsupervised methods …", "Papers today that report …"
    rf"^(?:show|find|give) me (?:some |any |all )?(?:[\w-]+ ){{0,3}}"
    rf"(?:work|{_SEVERAL}|methods|approaches|techniques)\b|"
    rf"^{_SEVERAL} (?:(?:out )?today )?(?:on|about|using|that|with|for)\b|"
    # "Does any paper use X?", "Any mixture-of-experts models out today?", "What's out today on X?"
    rf"^(?:does|do|did) (?:any|some)(?: of)?(?: (?:the|today's|today’s|these))* {_PAPERS}\b|^any\b|"
    r"^what(?:'s|’s| is| came) out\b|"
    # a few words and "papers?": "Diffusion papers today?"
    rf"^(?!(?:what|which|who|whom|how|why|when|where|does|do|did|is|are|was|were|can|could)\b)"
    # … or with what for, or a bracket after: "Sparse autoencoder papers for LLM interpretability?",
    # "speech processing papers (ASR, TTS, etc.)"
    rf"[\w\s'’-]{{1,60}} {_SEVERAL}(?: (?:out )?today)?"
    rf"(?:(?: (?:for|on|in|about) [^?.]{{1,80}})?\?| \([^)]{{1,60}}\)\??)$",
    re.IGNORECASE)
_RECOMMEND = re.compile(
    rf"\b(?:should i read|(?:would|could|can|might) help me|i should read|recommend|worth reading|"
    rf"(?:what|which {_PAPERS}?) (?:to|should i) read|where (?:should|do|can) i start|must[- ]read|"
    rf"most (?:relevant|useful) (?:{_PAPERS} )?(?:for|to)|best (?:paper|read) (?:for|on|about)|the best read|"
    # "What's the paper to read?", "Which one to read first?"
    r"(?:the|a|one|which) (?:best |first )?(?:paper|one) to read)\b|"
    # a need told first, then one paper asked for: "My model does X. Is there a paper on Y?", "I want Z. Which
    # paper?", "Attention in my decoder costs too much memory. Is there a paper that …?"
    r"^[^.?!;]{0,200}?\b(?:i|i'm|i am|my|we|our)\b.{1,300}?\b(?:which paper|is there a paper|any paper)\b|"
    # … or after: "Starting an NER project on Turkish text. Is there a paper with a baseline I could build on?"
    r"\b(?:which paper|is there a paper|any paper)\b[^?]{0,120}\b(?:i|we) (?:could|can|should|might)\b",
    re.IGNORECASE)
# How a request for a reading is put: what one should "read" or "look at", "any suggestions?". Shared with
# `listing`, whose topic leaves such a clause out.
READING_VERBS = r"(?:read|recommend|look at|check out|start with)"
ASKS_SUGGESTIONS = r"any (?:suggestions|recommendations|pointers|tips)(?: for me)?"
# A question closing on a request for a reading asks what to read, whatever it said before.
_READ_REQUEST_LAST = re.compile(
    rf"(?:^|[.!?;]\s+|\s[—–-]\s)(?:(?:so )?(?:what|which(?: {_PAPERS}| one)?) (?:should|would|do you recommend) "
    rf"(?:i|you) {READING_VERBS}(?: first)?|{ASKS_SUGGESTIONS})\s*\??$", re.IGNORECASE)
_OVERVIEW = re.compile(
    # not "what new activation function does X propose?": a fact asked with "new" in it
    r"\b(?:what(?:'s| is| are)? (?:new(?! [\w-]+(?: [\w-]+)? (?:does|do|did)\b)|happening|"
    r"the trends?|the latest)|overview|summar(?:y|ise|ize) "
    r"(?:of |the |today)|trends? (?:in|on)|state of)\b",
    re.IGNORECASE)
# Openings of questions about one fact: the rules can tell these without the model. A clause may come
# first ("Apart from translation, what third task …?", "Because of their cost, what are …?", "crowd counting
# paper - what are …?"), or a preposition before the question word ("Into which layers …?").
_FACT_OPENING = re.compile(
    r"^(?:[^,?]{1,80}(?:,|\s[-–—]|:)\s*)?(?:what|which (?!papers\b)|who|when|where|why|how|does|do|did|is|are|"
    r"was|were|can|"
    r"could|will|would|has|have|in|on|for|by|according|"
    r"(?:into|from|at|to|with|under|through|during) (?:which|what|how)\b)\b",
    re.IGNORECASE)

# A few words naming a topic and nothing more, as typed into a search box ("speech recognition", "RL for robot
# control?"): which papers are about it. Not with a question word, an auxiliary verb, a person, an imperative
# or a second sentence (those are questions the other rules or the model tell apart), and not with a word shaped
# like a paper's name ("LXMERT accuracy?", "BridgeTower"): that asks about the paper, and the model decides.
BARE_TOPIC_WORDS = 8
_NOT_A_BARE_TOPIC = re.compile(
    r"\b(?:what|which|who|whom|whose|how|why|when|where|is|are|was|were|be|been|does|do|did|has|have|had|can|"
    r"could|should|would|will|may|might|must|i|we|you|me|my|our|your)\b|"
    r"^(?:name|explain|describe|summari[sz]e|tell|give|define|list|show|find|compare)\b|[.;:!?]\s+\S",
    re.IGNORECASE)
# camelCase inside a word (BridgeTower, MosaicBERT, neU-Net, TracksTo4D), or capitals throughout a longer one
# (LXMERT, OWSM-CTC); not an acronym for a field (RL, ASR, LLMs, BERT, GLUE)
_NAME_SHAPED = re.compile(r"[a-z][^\s]*[A-Z]|^(?=(?:[^a-z]*[A-Z]){5})[A-Z0-9+-]+$")


@dataclass(frozen=True)
class QuestionKind:
    kind: str
    decided_by: str  # "rules" or "model"


def classify(question: str, is_follow_up: bool = False, generator: Generator | None = None) -> QuestionKind:
    """The question's kind: by rules, else by the model's first-token log-probabilities, else fact."""
    if kind := kind_by_rules(question, is_follow_up):
        return QuestionKind(kind, "rules")
    scorer = getattr(generator, "score_choices", None)
    if scorer is None:
        return QuestionKind(FACT, "rules")
    return QuestionKind(kind_by_model(question, scorer), "model")


def kind_by_rules(question: str, is_follow_up: bool = False) -> str | None:
    """The kind when the wording settles it; None when only the model could tell."""
    text = " ".join(question.split())
    if _READ_REQUEST_LAST.search(text):  # "… a principled comparison of the two. What should I read?"
        return RECOMMEND
    if _COMPARE.search(text):
        return COMPARE
    if _RECOMMEND.search(text):
        return RECOMMEND
    if _LIST.search(text):
        return LIST
    if _OVERVIEW.search(text):
        return OVERVIEW
    if is_follow_up:
        return FOLLOW_UP
    if _FACT_OPENING.match(text):
        return FACT
    if _names_a_topic_only(text):
        return LIST
    return None


def is_bare_topic(question: str) -> bool:
    """Whether the question is a list question only for being a topic's name, a few words without a verb
    of its own, as a search is typed: not one that asks for papers ("Anything on object detection?")."""
    text = " ".join(question.split())
    return kind_by_rules(text) == LIST and not _LIST.search(text)


def _names_a_topic_only(text: str) -> bool:
    words = re.findall(r"[\w'’+-]+", text)
    if not words or len(words) > BARE_TOPIC_WORDS or _NOT_A_BARE_TOPIC.search(text):
        return False
    return not any(_NAME_SHAPED.search(word) for word in words)


def kind_by_model(question: str, score_choices) -> str:
    """The most likely of MODEL_CHOICES, read from the first token of a one-word reply."""
    messages = load_prompt("question_kind").render(question=question)
    scores = score_choices(messages, MODEL_CHOICES)
    best = max(range(len(MODEL_CHOICES)), key=lambda index: scores[index])
    return MODEL_CHOICES[best] if math.isfinite(scores[best]) else FACT
