"""The one language type of the contract: a named schema, LanguageCode, wherever a language is
sent or returned, so a generated client has one type for it (issue 8)."""

from typing import Annotated

from pydantic import Field, StringConstraints
from typing_extensions import TypeAliasType

# A BCP 47 tag as questionnaires use them (sv, en, ar, sv-SE); answers store at most 8 characters.
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"

LanguageCode = TypeAliasType(
    "LanguageCode",
    Annotated[
        str,
        StringConstraints(min_length=2, max_length=8, pattern=LANGUAGE_PATTERN),
        Field(
            description="A language code (BCP 47), e.g. `sv`, `en`, `ar`. Which ones are accepted "
            "depends on the use: a response's must be one of its questionnaire's languages.",
            examples=["sv"],
        ),
    ],
)
