"""The 32 London boroughs and the City of London, and forgiving matching of typed answers."""

from __future__ import annotations

import difflib
import re
import unicodedata

from flows.parsing import Ambiguous, Invalid

__all__ = ["BOROUGHS", "OUTSIDE_LONDON", "exact_borough", "match_borough"]

BOROUGHS: tuple[str, ...] = (
    "Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "Croydon",
    "Ealing", "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey", "Harrow",
    "Havering", "Hillingdon", "Hounslow", "Islington", "Kensington and Chelsea",
    "Kingston upon Thames", "Lambeth", "Lewisham", "Merton", "Newham", "Redbridge",
    "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest",
    "Wandsworth", "Westminster", "City of London",
)
OUTSIDE_LONDON = "Outside London"

_HINT = "Please send the London borough, like Lambeth or Hackney."
_CITY = ("City of London", "Westminster")  # Westminster is also "the City of Westminster"

# Short forms and council abbreviations people use, already in _key() form.
_ALIASES: dict[str, str] = {
    "barking": "Barking and Dagenham", "dagenham": "Barking and Dagenham",
    "lbbd": "Barking and Dagenham", "b and d": "Barking and Dagenham",
    "hammersmith": "Hammersmith and Fulham", "fulham": "Hammersmith and Fulham",
    "lbhf": "Hammersmith and Fulham", "h and f": "Hammersmith and Fulham",
    "kensington": "Kensington and Chelsea", "chelsea": "Kensington and Chelsea",
    "rbkc": "Kensington and Chelsea", "k and c": "Kensington and Chelsea",
    "kingston": "Kingston upon Thames", "kingston on thames": "Kingston upon Thames",
    "richmond": "Richmond upon Thames", "richmond on thames": "Richmond upon Thames",
    "tower hamlet": "Tower Hamlets", "lbth": "Tower Hamlets",
    "waltham": "Waltham Forest", "lbwf": "Waltham Forest",
    "city of westminster": "Westminster",
    "the city": "City of London", "square mile": "City of London",
    # Well-known town centres whose names would otherwise fuzzy-match the wrong borough
    # (Brentford is in Hounslow, not Brent) or match nothing at all.
    "brentford": "Hounslow", "walthamstow": "Waltham Forest", "wembley": "Brent",
    "harlesden": "Brent", "tottenham": "Haringey", "wood green": "Haringey",
    "brixton": "Lambeth", "streatham": "Lambeth", "peckham": "Southwark",
    "camberwell": "Southwark", "bermondsey": "Southwark", "stratford": "Newham",
    "east ham": "Newham", "west ham": "Newham", "canning town": "Newham",
    "woolwich": "Greenwich", "eltham": "Greenwich", "deptford": "Lewisham",
    "catford": "Lewisham", "romford": "Havering", "ilford": "Redbridge",
    "edmonton": "Enfield", "uxbridge": "Hillingdon", "hayes": "Hillingdon",
    "southall": "Ealing", "acton": "Ealing", "feltham": "Hounslow", "battersea": "Wandsworth",
    "tooting": "Wandsworth", "wimbledon": "Merton", "mitcham": "Merton", "morden": "Merton",
    "shoreditch": "Hackney", "dalston": "Hackney", "holloway": "Islington",
    "whitechapel": "Tower Hamlets", "bow": "Tower Hamlets", "poplar": "Tower Hamlets",
    "stepney": "Tower Hamlets", "thornton heath": "Croydon", "bexleyheath": "Bexley",
    "orpington": "Bromley", "edgware": "Barnet", "kentish town": "Camden",
}

# Explicit "not London" answers and places people name that are clearly outside it. They are
# checked before fuzzy matching so that "Kent" never becomes Brent, nor "Brentwood" Brent.
_OUTSIDE_PHRASES = frozenset(
    {"outside", "outside london", "out of london", "not london", "not in london", "none"}
)
_OUTSIDE_PLACES = frozenset(
    {
        "kent", "essex", "surrey", "sussex", "east sussex", "west sussex", "hertfordshire",
        "herts", "berkshire", "berks", "buckinghamshire", "bucks", "bedfordshire", "beds",
        "hampshire", "birmingham", "manchester", "liverpool", "leeds", "bristol", "sheffield",
        "nottingham", "leicester", "coventry", "luton", "slough", "watford", "dartford",
        "reading", "brentwood", "gravesend", "medway", "maidstone", "chatham", "southend",
        "basildon", "chelmsford", "thurrock", "grays", "harlow", "epping", "loughton",
        "cheshunt", "st albans", "hemel hempstead", "stevenage", "borehamwood", "guildford",
        "woking", "epsom", "crawley", "brighton", "milton keynes", "oxford", "cambridge",
        "northampton", "wolverhampton", "southampton", "portsmouth", "cardiff", "glasgow",
        "edinburgh", "newcastle", "hull", "wales", "scotland", "northern ireland", "ireland",
    }
)

_PREFIXES = (
    "the royal borough of ", "royal borough of ", "the london borough of ", "london borough of ",
    "borough of ", "lb of ", "rb of ", "lb ", "rb ", "the ",
)
_SUFFIXES = (" borough council", " council", " borough", " london", " uk")

_CUTOFF = 0.8  # ratio below which a typo is too far from any name to guess
_TIE = 0.02  # scores this close to the best one are treated as equally likely


def _key(text: str) -> str:
    """Return text lower-cased, accents and punctuation dropped, '&' as 'and', single-spaced."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("&", " and "))
    unaccented = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", unaccented.replace("'", "")))


def _strip_affixes(key: str) -> str:
    """Return key without "London Borough of", "Council" and the like, stopping at a name."""
    changed = True
    while changed and key not in _NAMES:
        changed = False
        for affix in _PREFIXES:
            if key.startswith(affix) and len(key) > len(affix):
                key, changed = key[len(affix) :], True
                break
        else:
            for affix in _SUFFIXES:
                if key.endswith(affix) and len(key) > len(affix):
                    key, changed = key[: -len(affix)], True
                    break
    return key


_NAMES: dict[str, str] = {_key(b): b for b in BOROUGHS} | _ALIASES
# Spaceless forms catch "towerhamlets" and "walthamforest".
_NAMES |= {k.replace(" ", ""): v for k, v in list(_NAMES.items()) if " " in k}

# Names looked for inside longer answers ("lives in Lambeth"). Short names and place names that
# are also ordinary words ("reading", "grays") would match sentences that don't mean them.
_CONTAINABLE: tuple[str, ...] = tuple(
    sorted(
        {n for n in _NAMES if len(n) >= 5}
        | (_OUTSIDE_PLACES - {"reading", "grays", "bucks", "beds", "berks", "ireland"}),
        key=len,
        reverse=True,
    )
)


def _contained(key: str) -> set[str]:
    """Return places whose name appears as whole words inside a longer answer."""
    found = set()
    padded = f" {key} "
    # Longest names first, blanked once found, so "kingston upon thames" isn't also "kingston".
    for name in _CONTAINABLE:
        if f" {name} " in padded:
            found.add(_NAMES.get(name, OUTSIDE_LONDON))
            padded = padded.replace(f" {name} ", " | ")
    return found


def _closest(key: str) -> list[str]:
    """Return the best fuzzy matches (a borough, or OUTSIDE_LONDON), tied ones together."""
    scores: dict[str, float] = {}
    candidates = [(name, place) for name, place in _NAMES.items()]
    candidates += [(place, OUTSIDE_LONDON) for place in _OUTSIDE_PLACES]
    for name, place in candidates:
        score = difflib.SequenceMatcher(None, key, name).ratio()
        scores[place] = max(score, scores.get(place, 0.0))
    best = max(scores.values())
    if best < _CUTOFF:
        return []
    return sorted(place for place, score in scores.items() if score >= best - _TIE)


def exact_borough(text: str) -> str | None:
    """The London borough `text` names outright (its name, a short form, a town centre), or None: no guessing."""
    return _NAMES.get(_strip_affixes(_key(text[:200])))


def match_borough(text: str) -> str:
    """Return the canonical borough, or OUTSIDE_LONDON; raise Ambiguous or Invalid otherwise."""
    key = _key(text[:200])
    if not key:
        raise Invalid(_HINT)
    if key == "city":
        raise Ambiguous(_CITY, "Do you mean the City of London or Westminster?")
    if key in _OUTSIDE_PHRASES or key in _OUTSIDE_PLACES:
        return OUTSIDE_LONDON
    key = _strip_affixes(key)
    if key in _NAMES:
        return _NAMES[key]
    if key in _OUTSIDE_PLACES:
        return OUTSIDE_LONDON
    found = _contained(key)
    if len(found) == 1:
        return found.pop()
    if found:
        raise Ambiguous(tuple(sorted(found)), "Which borough do they live in?")
    # Short answers ("idk", "n", "bow ") are too close to too much to guess from.
    if len(key) < 5:
        raise Invalid(_HINT)
    close = _closest(key)
    if len(close) == 1:
        return close[0]
    if close:
        raise Ambiguous(tuple(close), "Which did you mean?")
    raise Invalid(_HINT)
