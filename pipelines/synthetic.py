"""A synthetic NER corpus with GMB-style IOB2 tags, so `zoo quickstart` needs no data or network.

Sentences are filled-in templates such as `{per} flew to {geo} {tim} .`, giving e.g.

    Sharon  flew  to  Miami  last  Friday  .
    B-per   O     O   B-geo  O     B-tim   O

Entity types are lowercase like GMB's: per, geo, org, tim. Names, places and organisations
come from lists long enough that a model has to learn the context, not the words.
"""

from __future__ import annotations

import random

from pipelines.readers.tagged import TaggedSentence

FIRST_NAMES = (
    "Sharon", "David", "Maria", "John", "Aisha", "Carlos", "Emma", "Hiroshi", "Fatima", "Peter",
    "Olga", "Ahmed", "Laura", "Kwame", "Sofia", "Michael", "Priya", "Ivan", "Chen", "Anna",
    "Omar", "Lucy", "Pedro", "Grace", "Yusuf", "Elena", "Thomas", "Mei", "Daniel", "Amara",
    "Lars", "Nadia", "Robert", "Ines", "Samuel", "Julia", "Kenji", "Leila", "Victor", "Rachel",
    "Tariq", "Helen", "Marco", "Zara", "Andrew",
)
SURNAMES = (
    "Smith", "Garcia", "Okafor", "Tanaka", "Novak", "Schmidt", "Rossi", "Khan", "Petrov", "Silva",
    "Johnson", "Nguyen", "Kowalski", "Haddad", "Mensah", "Larsen", "Dubois", "Moreno", "Fischer",
    "Yamamoto", "Brown", "Hassan", "Ivanova", "Costa", "Williams", "Lindqvist", "Mbeki", "Park",
    "Romero", "Adeyemi",
)
TITLES = ("President", "Minister", "Senator", "Dr.", "Mr.", "Mrs.", "General", "Governor")
PLACES = (
    "Miami", "London", "Paris", "Berlin", "Tokyo", "Madrid", "Rome", "Cairo", "Nairobi", "Lagos",
    "Moscow", "Beijing", "Delhi", "Sydney", "Toronto", "Chicago", "Boston", "Lima", "Bogota",
    "Oslo", "Vienna", "Prague", "Warsaw", "Athens", "Lisbon", "Dublin", "Seoul", "Manila",
    "Jakarta", "Istanbul", "Tehran", "Baghdad", "Kabul", "Havana", "Brazil", "Canada", "Kenya",
    "Egypt", "France", "Germany", "Japan", "Mexico", "Nigeria", "Peru", "Iraq",
    "New York", "Los Angeles", "San Francisco", "Buenos Aires", "Hong Kong", "Cape Town",
    "New Delhi", "South Africa", "New Zealand", "Sri Lanka", "Rio de Janeiro",
)
ORGANISATIONS = (
    "United Nations", "World Bank", "European Union", "Red Cross", "NATO", "UNICEF",
    "World Health Organization", "International Monetary Fund", "African Union", "Interpol",
    "Reuters", "Microsoft", "Toyota", "Greenpeace", "Amnesty International", "OPEC",
    "Federal Reserve", "Central Bank", "Oxford University", "General Motors",
    "Northwind Airlines", "Atlas Energy Group", "Harbor Shipping Company", "Bluestone Capital",
    "National Weather Service",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
YEARS = tuple(str(year) for year in range(1990, 2025))

# Each template is a sentence with entity slots: {per}, {geo}, {org}, {tim} (a time phrase
# such as "last Friday"), {day} (a bare weekday), {month_year} and {year}. Everything else is O.
TEMPLATES = (
    # travel
    "{per} flew to {geo} {tim} .",
    "{per} flew from {geo} to {geo} {tim} .",
    "{per} and {per} flew to {geo} {tim} .",
    "{per} flew to {geo} {tim} and met {per} .",
    "{per} will fly to {geo} {tim} .",
    "{per} traveled to {geo} {tim} to meet {per} .",
    "{per} arrived in {geo} {tim} .",
    "{per} returned to {geo} {tim} after talks with {org} .",
    "{per} left {geo} {tim} .",
    "Why did {per} fly to {geo} {tim} ?",
    # meetings
    "{per} met {per} in {geo} {tim} .",
    "{per} will meet officials from {org} in {geo} {tim} .",
    "Leaders of {org} met in {geo} {tim} .",
    "On {day} , {per} met {per} of {org} in {geo} .",
    "{per} held talks with {per} in {geo} {tim} .",
    # announcements
    "{org} announced {tim} that it will open an office in {geo} .",
    "{org} said {tim} that {per} will lead its team in {geo} .",
    "In {month_year} , {org} opened a new office in {geo} .",
    "{org} appointed {per} as its new director {tim} .",
    "{per} announced {tim} that {org} will invest in {geo} .",
    # visits
    "{per} visited {geo} {tim} .",
    "{per} will visit {geo} and {geo} {tim} .",
    "{per} is visiting {geo} {tim} for talks with {org} .",
    "During a visit to {geo} {tim} , {per} praised {org} .",
    # statements and news
    "{per} , a spokesman for {org} , said the plan was approved {tim} .",
    "{per} told reporters in {geo} {tim} that {org} is ready .",
    "{per} said {tim} that talks with {org} had failed .",
    "Officials in {geo} said {tim} that {per} had resigned .",
    "{per} criticized {org} in a speech in {geo} {tim} .",
    "{per} of {org} warned {tim} that prices in {geo} will rise .",
    "According to {org} , {per} will arrive in {geo} {tim} .",
    "{per} , who works for {org} in {geo} , flew home {tim} .",
    "{per} was born in {geo} in {year} .",
    "Police in {geo} arrested {per} {tim} .",
    "{per} and {per} will discuss trade with {org} in {geo} {tim} !",
)

Phrase = list[tuple[str, str]]


def _entity(words: str, entity_type: str) -> Phrase:
    tokens = words.split()
    return [(token, ("B-" if i == 0 else "I-") + entity_type) for i, token in enumerate(tokens)]


def _person(rng: random.Random) -> Phrase:
    # GMB tags a title as part of the name ("President B-per Bush I-per"); do the same.
    roll = rng.random()
    if roll < 0.45:
        words = rng.choice(FIRST_NAMES)
    elif roll < 0.85:
        words = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
    else:
        words = f"{rng.choice(TITLES)} {rng.choice(SURNAMES)}"
    return _entity(words, "per")


def _time(rng: random.Random) -> Phrase:
    """A time phrase; the modifier or preposition is O, the date itself is tim."""
    roll = rng.random()
    if roll < 0.35:
        return [(rng.choice(("last", "on", "next")), "O"), (rng.choice(WEEKDAYS), "B-tim")]
    if roll < 0.5:
        return [("in", "O"), (rng.choice(MONTHS), "B-tim")]
    if roll < 0.65:
        return [("in", "O"), *_entity(f"{rng.choice(MONTHS)} {rng.choice(YEARS)}", "tim")]
    if roll < 0.75:
        return [("on", "O"), *_entity(f"{rng.choice(MONTHS)} {rng.randint(1, 28)}", "tim")]
    if roll < 0.85:
        return [("in", "O"), (rng.choice(YEARS), "B-tim")]
    # Vague times are not entities in GMB; they teach that "last" alone does not mean tim.
    vague = rng.choice(("yesterday", "today", "last week", "this month"))
    return [(word, "O") for word in vague.split()]


_SLOTS = {
    "{per}": _person,
    "{geo}": lambda rng: _entity(rng.choice(PLACES), "geo"),
    "{org}": lambda rng: _entity(rng.choice(ORGANISATIONS), "org"),
    "{tim}": _time,
    "{day}": lambda rng: [(rng.choice(WEEKDAYS), "B-tim")],
    "{month_year}": lambda rng: _entity(f"{rng.choice(MONTHS)} {rng.choice(YEARS)}", "tim"),
    "{year}": lambda rng: [(rng.choice(YEARS), "B-tim")],
}


def synthetic_ner_corpus(n_sentences: int = 3000, *, seed: int = 0) -> list[TaggedSentence]:
    """Generates `n_sentences` template sentences with IOB2 tags, the same for the same seed.

    Args:
        n_sentences: how many sentences, at least 1.
        seed: seed of the `random.Random` that makes every choice.

    Returns:
        `TaggedSentence`s, e.g. tokens `("Sharon", "flew", "to", "Miami", "last", "Friday", ".")`
        with tags `("B-per", "O", "O", "B-geo", "O", "B-tim", "O")`.
    """
    if not isinstance(n_sentences, int) or n_sentences < 1:
        raise ValueError(
            f"`n_sentences` must be a positive integer. Received: n_sentences={n_sentences!r}"
        )
    rng = random.Random(seed)
    corpus = []
    for _ in range(n_sentences):
        words: Phrase = []
        for piece in rng.choice(TEMPLATES).split():
            fill = _SLOTS.get(piece)
            words.extend(fill(rng) if fill else [(piece, "O")])
        tokens, tags = zip(*words)
        corpus.append(TaggedSentence(tokens, tags))
    return corpus
