"""The questionnaire definition format, in one import for its many callers.

The format is split by concern: ``document`` (the pydantic models, limits and error shape),
``checker`` (parsing and every semantic check), ``answers`` (show_if visibility and answer
validation) and ``comparability`` (when two versions form one trend series). This module
re-exports their public names so ``from survey_api.questionnaires.definition import ...`` keeps
working everywhere.
"""

from survey_api.questionnaires.answers import is_visible, validate_answers, visible_items
from survey_api.questionnaires.checker import (
    load_standard_definition,
    parse_definition,
    standard_definitions,
    standard_keys,
)
from survey_api.questionnaires.comparability import ItemSignature, item_signature
from survey_api.questionnaires.document import (
    CHOICE_KINDS,
    DEFAULT_TEXT_MAX_LENGTH,
    DefinitionError,
    FieldErrorDict,
    Index,
    Indicator,
    Item,
    ItemKind,
    LocalisedText,
    Option,
    QuestionnaireDefinition,
    Section,
    ShowIf,
)

__all__ = [
    "CHOICE_KINDS",
    "DEFAULT_TEXT_MAX_LENGTH",
    "DefinitionError",
    "FieldErrorDict",
    "Index",
    "Indicator",
    "Item",
    "ItemKind",
    "ItemSignature",
    "LocalisedText",
    "Option",
    "QuestionnaireDefinition",
    "Section",
    "ShowIf",
    "is_visible",
    "item_signature",
    "load_standard_definition",
    "parse_definition",
    "standard_definitions",
    "standard_keys",
    "validate_answers",
    "visible_items",
]
