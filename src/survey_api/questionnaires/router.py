from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response

from survey_api.auth.dependencies import Analyst, AnyRole, SessionDep
from survey_api.exceptions import NotFound, problem_responses
from survey_api.ids import MAX_ID
from survey_api.paging import LINK_HEADER_RESPONSE, PageParams, with_link_header
from survey_api.questionnaires import service
from survey_api.questionnaires.definition import (
    QuestionnaireDefinition,
    load_standard_definition,
    standard_definitions,
    standard_keys,
)
from survey_api.questionnaires.schemas import (
    ComparabilityReport,
    CreatedQuestionnaire,
    QuestionnairePage,
    QuestionnaireRead,
    StandardQuestionnaire,
    StandardQuestionnaireList,
    VersionRead,
)

router = APIRouter(prefix="/questionnaires", tags=["questionnaires"])
standard_router = APIRouter(prefix="/standard-questionnaires", tags=["questionnaires"])

QuestionnaireId = Annotated[int, Path(description="The questionnaire's id.", ge=1, le=MAX_ID)]
VersionNumber = Annotated[int, Path(description="The version number (1, 2, …).", ge=1, le=MAX_ID)]

_DEFINITION_DOC = (
    "A questionnaire definition in the JSON format of the bundled standard questionnaire "
    "(`trygghetsmatning-standard`): items of kind scale, single_choice, multi_choice, number "
    "or text, option codes with scores, favourable codes, show_if conditions, background items, "
    "indicators and composite indices. Every problem is reported in `errors` with its location."
)
_SMALL_EXAMPLE: dict[str, Any] = {
    "key": "kort-trygghet",
    "name": {"sv": "Kort trygghetsmätning", "en": "Short safety survey"},
    "intro": {"sv": "Dina svar är anonyma.", "en": "Your answers are anonymous."},
    "default_language": "sv",
    "languages": ["sv", "en"],
    "sections": [{"key": "trygghet", "title": {"sv": "Trygghet", "en": "Feeling safe"}}],
    "items": [
        {
            "key": "trygg_ute_kvall",
            "kind": "scale",
            "section": "trygghet",
            "text": {
                "sv": "Hur trygg känner du dig ute en sen kväll?",
                "en": "How safe do you feel out late in the evening?",
            },
            "options": [
                {"code": 1, "label": {"sv": "Mycket trygg", "en": "Very safe"}, "score": 4},
                {"code": 2, "label": {"sv": "Ganska trygg", "en": "Fairly safe"}, "score": 3},
                {"code": 3, "label": {"sv": "Ganska otrygg", "en": "Fairly unsafe"}, "score": 2},
                {"code": 4, "label": {"sv": "Mycket otrygg", "en": "Very unsafe"}, "score": 1},
                {"code": 9, "label": {"sv": "Vet inte", "en": "Don't know"}, "score": None},
            ],
            "favourable": [1, 2],
            "required": False,
        }
    ],
    "indicators": [],
    "indices": [],
}
DefinitionBody = Annotated[
    QuestionnaireDefinition,
    Body(
        description=_DEFINITION_DOC,
        openapi_examples={
            "short": {"summary": "A one-item questionnaire", "value": _SMALL_EXAMPLE}
        },
    ),
]


@router.get(
    "",
    operation_id="list_questionnaires",
    response_model=QuestionnairePage,
    responses={**LINK_HEADER_RESPONSE, **problem_responses(401, 403, 422)},
)
def list_questionnaires(
    principal: AnyRole, session: SessionDep, page: PageParams, response: Response
) -> QuestionnairePage:
    """List the organisation's questionnaires and their versions, oldest first, a page at a time."""
    return with_link_header(
        response, service.list_questionnaires(session, principal.organisation_id, page)
    )


@router.post(
    "",
    operation_id="create_questionnaire",
    response_model=CreatedQuestionnaire,
    status_code=201,
    responses=problem_responses(401, 403, 409, 413, 422),
)
def create_questionnaire(
    body: DefinitionBody, principal: Analyst, session: SessionDep
) -> CreatedQuestionnaire:
    """Create a questionnaire from a definition; it starts as draft version 1."""
    return service.create_questionnaire(session, principal.organisation_id, body.to_json())


@router.get(
    "/{questionnaire_id}",
    operation_id="get_questionnaire",
    response_model=QuestionnaireRead,
    responses=problem_responses(401, 403, 404),
)
def get_questionnaire(
    questionnaire_id: QuestionnaireId, principal: AnyRole, session: SessionDep
) -> QuestionnaireRead:
    """Read a questionnaire and the list of its versions."""
    q = service.get_questionnaire(session, principal.organisation_id, questionnaire_id)
    return service.read_questionnaire(session, q)


@router.post(
    "/{questionnaire_id}/versions",
    operation_id="create_questionnaire_draft",
    response_model=VersionRead,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409),
)
def create_draft(
    questionnaire_id: QuestionnaireId, principal: Analyst, session: SessionDep
) -> VersionRead:
    """Start a new draft version as a copy of the latest version."""
    return service.new_draft(session, principal.organisation_id, questionnaire_id)


@router.get(
    "/{questionnaire_id}/versions/{number}",
    operation_id="get_questionnaire_version",
    response_model=VersionRead,
    responses=problem_responses(401, 403, 404),
)
def get_version(
    questionnaire_id: QuestionnaireId,
    number: VersionNumber,
    principal: AnyRole,
    session: SessionDep,
) -> VersionRead:
    """Read one version with its full definition."""
    return service.read_version(
        service.get_version(session, principal.organisation_id, questionnaire_id, number)
    )


@router.get(
    "/{questionnaire_id}/versions/{number}/comparability",
    operation_id="get_questionnaire_version_comparability",
    response_model=ComparabilityReport,
    responses=problem_responses(401, 403, 404),
)
def get_comparability(
    questionnaire_id: QuestionnaireId,
    number: VersionNumber,
    principal: AnyRole,
    session: SessionDep,
) -> ComparabilityReport:
    """Compare a version (draft or published) with the previous published version: per item,
    indicator and index, whether its trend continues or breaks and why (kind changed, option
    codes added or removed, scores changed, favourable/unfavourable codes changed), and which
    are new or removed. The same rule breaks the series in `/results/trend`."""
    return service.comparability_report(
        session, principal.organisation_id, questionnaire_id, number
    )


@router.put(
    "/{questionnaire_id}/versions/{number}",
    operation_id="update_questionnaire_draft",
    response_model=VersionRead,
    responses=problem_responses(401, 403, 404, 409, 413, 422),
)
def update_draft(
    questionnaire_id: QuestionnaireId,
    number: VersionNumber,
    body: DefinitionBody,
    principal: Analyst,
    session: SessionDep,
) -> VersionRead:
    """Replace a draft's definition. A published version answers 409."""
    return service.update_draft(
        session, principal.organisation_id, questionnaire_id, number, body.to_json()
    )


@router.post(
    "/{questionnaire_id}/versions/{number}/publish",
    operation_id="publish_questionnaire_version",
    response_model=VersionRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def publish_version(
    questionnaire_id: QuestionnaireId,
    number: VersionNumber,
    principal: Analyst,
    session: SessionDep,
) -> VersionRead:
    """Publish a draft. It becomes immutable and survey rounds can use it."""
    return service.publish(session, principal.organisation_id, questionnaire_id, number)


@standard_router.get(
    "",
    operation_id="list_standard_questionnaires",
    response_model=StandardQuestionnaireList,
    responses=problem_responses(401, 403),
)
def list_standard_questionnaires(principal: AnyRole) -> StandardQuestionnaireList:
    """The standard questionnaires shipped with the service (the trygghetsmätning and the
    kundenkät): their languages, and every indicator and composite index with its items, codes
    and orientation. docs/methods.md states the formulas."""
    return StandardQuestionnaireList(
        items=[
            StandardQuestionnaire(
                key=d.key,
                name=dict(d.name),
                languages=list(d.languages),
                default_language=d.default_language,
                items=len(d.items),
                indicators=d.indicators,
                indices=d.indices,
            )
            for d in standard_definitions()
        ]
    )


@standard_router.get(
    "/{key}",
    operation_id="get_standard_questionnaire",
    response_model=QuestionnaireDefinition,
    response_model_exclude_unset=True,
    responses=problem_responses(401, 403, 404, 422),
)
def get_standard_questionnaire(
    key: Annotated[
        str,
        Path(
            description="The standard questionnaire's key.",
            pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
            examples=["kundenkat-standard"],
        ),
    ],
    principal: AnyRole,
) -> QuestionnaireDefinition:
    """A standard questionnaire's whole definition, exactly as shipped: post it to
    `/questionnaires` as it is (or with your own key) to start from it."""
    if key not in standard_keys():
        raise NotFound(
            f"no standard questionnaire {key!r}; there are: {', '.join(standard_keys())}"
        )
    return load_standard_definition(key)
