"""The /api/v1 router: every domain's routes, in the order the contract lists them."""

from fastapi import APIRouter

from survey_api.areas.router import router as areas_router
from survey_api.auth.router import router as api_keys_router
from survey_api.benchmarks.router import router as benchmarks_router
from survey_api.exports.router import router as exports_router
from survey_api.imports.router import mappings_router as import_mappings_router
from survey_api.imports.router import router as imports_router
from survey_api.imports.tallies_router import router as tallies_router
from survey_api.interventions.router import router as interventions_router
from survey_api.invitations.router import router as invitations_router
from survey_api.organisations.router import router as organisations_router
from survey_api.questionnaires.router import router as questionnaires_router
from survey_api.questionnaires.router import standard_router as standard_questionnaires_router
from survey_api.reports.router import api_router as share_links_router
from survey_api.responses.router import router as responses_router
from survey_api.results.router import router as results_router
from survey_api.rounds.router import router as rounds_router
from survey_api.staff.router import router as staff_users_router
from survey_api.web.letters import router as letters_router
from survey_api.webhooks.router import router as webhooks_router

api_router = APIRouter(prefix="/api/v1")
for router in (
    organisations_router,
    areas_router,
    questionnaires_router,
    standard_questionnaires_router,
    rounds_router,
    invitations_router,
    responses_router,
    imports_router,
    import_mappings_router,
    tallies_router,
    results_router,
    benchmarks_router,
    share_links_router,
    letters_router,
    interventions_router,
    exports_router,
    api_keys_router,
    staff_users_router,
    webhooks_router,
):
    api_router.include_router(router)
