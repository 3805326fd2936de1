"""English verb forms for rewriting follow-ups: 'Who founded Scale?' then 'Why?' asks 'Why did ... found Scale?'."""

from dataclasses import dataclass

from lemminflect import getAllInflections, getAllLemmas

# The auxiliary that carries each finite tag once the verb goes to its base form ('founded' -> 'did ... found'). The
# plural present ('Which companies own Scale?') is left out: its form is the base form, which many nouns share.
AUXILIARY_OF_TAG = {"VBD": "did", "VBZ": "does"}


@dataclass(frozen=True)
class FiniteVerb:
    base: str  # 'found'
    auxiliary: str  # 'did'


def finite_verb(word: str) -> FiniteVerb | None:
    """`word` as a verb in the past tense or the third person present: its base form and the auxiliary of that tense;
    None for any other form, or a word lemminflect does not know as a verb."""
    lower = word.lower()
    for lemma in getAllLemmas(lower).get("VERB", ()):
        forms = getAllInflections(lemma, upos="VERB")
        for tag, auxiliary in AUXILIARY_OF_TAG.items():
            if lower in forms.get(tag, ()):
                return FiniteVerb(lemma, auxiliary)
    return None


def participle(word: str) -> bool:
    """Whether `word` can be a verb's past participle or -ing form ('valued', 'building', 'taken')."""
    lower = word.lower()
    for lemma in getAllLemmas(lower).get("VERB", ()):
        forms = getAllInflections(lemma, upos="VERB")
        # lemminflect leaves VBN out where it is the past tense's form ('value': 'valued' only under VBD)
        if any(lower in forms.get(tag, ()) for tag in ("VBN", "VBG", "VBD")):
            return True
    return False


def same_verb(first: str, second: str) -> bool:
    """Whether two words can be forms of one verb ('take', 'takes', 'took')."""
    lemmas = [set(getAllLemmas(word.lower().strip("?.!,;:")).get("VERB", ())) for word in (first, second)]
    return bool(lemmas[0] & lemmas[1])


def load() -> None:
    """Read lemminflect's tables now (0.3 s), where a process starts, instead of in the first follow-up it rewrites."""
    finite_verb("founded")
