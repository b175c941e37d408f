"""(admin) The organisation's API keys: create (the secret shown once), list, revoke.

The console's Keys page and `survey-api keys` call the same service functions.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from survey_api.auth import service
from survey_api.auth.dependencies import Admin, SessionDep
from survey_api.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPage, ApiKeyRead
from survey_api.exceptions import problem_responses
from survey_api.ids import MAX_ID
from survey_api.organisations import service as organisations_service
from survey_api.paging import LINK_HEADER_RESPONSE, PageParams, with_link_header

router = APIRouter(prefix="/api-keys", tags=["api keys"])

ApiKeyId = Annotated[int, Path(description="The key's id.", ge=1, le=MAX_ID)]


@router.get(
    "",
    operation_id="list_api_keys",
    response_model=ApiKeyPage,
    responses={**LINK_HEADER_RESPONSE, **problem_responses(401, 403, 422)},
)
def list_api_keys(
    principal: Admin, session: SessionDep, page: PageParams, response: Response
) -> ApiKeyPage:
    """List the organisation's keys, revoked ones included; never a secret."""
    keys, total = service.page_api_keys(session, principal.organisation_id, page)
    return with_link_header(
        response, ApiKeyPage.of([ApiKeyRead.model_validate(key) for key in keys], total, page)
    )


@router.post(
    "",
    operation_id="create_api_key",
    response_model=ApiKeyCreated,
    status_code=201,
    responses=problem_responses(401, 403, 413, 422),
)
def create_api_key(body: ApiKeyCreate, principal: Admin, session: SessionDep) -> ApiKeyCreated:
    """Create a key. Its secret is in this answer only: the service keeps just a hash."""
    organisation = organisations_service.get_organisation(session, principal.organisation_id)
    api_key, secret = service.create_api_key(session, organisation, name=body.name, role=body.role)
    return ApiKeyCreated.model_validate(
        {**ApiKeyRead.model_validate(api_key).model_dump(), "secret": secret}
    )


@router.delete(
    "/{api_key_id}",
    operation_id="revoke_api_key",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
def revoke_api_key(api_key_id: ApiKeyId, principal: Admin, session: SessionDep) -> Response:
    """Revoke a key; it gets 401 from its next request on. Revoking a revoked key changes
    nothing. The calling key may revoke itself."""
    api_key = service.get_api_key(session, principal.organisation_id, api_key_id)
    service.revoke_api_key(session, api_key.id)
    return Response(status_code=204)
