"""The console's Interventions section: list, register, edit, delete, and the evaluation page.

GET  /console/interventions                      interventions, oldest start first, a page at a time
GET  /console/interventions/new, POST            (analyst) register an intervention
GET  /console/interventions/{id}                 an intervention: what, where, when, at what cost
GET  /console/interventions/{id}/edit, POST      (analyst) change it
GET  /console/interventions/{id}/delete, POST    (analyst) delete it, after a confirmation
GET  /console/interventions/{id}/evaluation      difference-in-differences for a chosen indicator

records.py has the list and the forms, evaluation.py the evaluation page, common.py what both
use. Every rule comes from the services the API calls (interventions service and evaluation,
areas, questionnaires); these modules only turn form fields into the API's request models and
the answers and errors into pages.
"""

from fastapi import APIRouter

from survey_api.console.interventions import evaluation, records
from survey_api.console.interventions.evaluation import points

router = APIRouter()
router.include_router(records.router)
router.include_router(evaluation.router)

__all__ = ["points", "router"]
