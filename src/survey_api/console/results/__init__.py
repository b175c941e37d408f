"""The console's Results section: a round's figures per area and pooled group, an area's
distributions, trends and breakdowns, the round's exports, and share links for boards.

GET  /console/results                                   rounds that have responses
GET  /console/results/{id}                              key figures per area and pooled group
GET  /console/results/{id}/areas/{area_id}[?by=key]     an area: figures, distributions, trends,
                                                        a breakdown by a background item
GET  /console/results/{id}/compare?target=kind:key  the round's areas side by side for an item,
                                                        indicator or index, with the organisation
GET  /console/results/{id}/exports/codebook|results     the API's export files (every role)
GET  /console/results/{id}/exports/responses            (admin) responses, free text on request
POST /console/results/{id}/share-links                  (analyst) a share link, shown once
GET  /console/results/{id}/share-links/{link_id}/revoke (analyst) "revoke this link?"
POST /console/results/{id}/share-links/{link_id}/revoke (analyst) revoke it; its page stops opening

Every figure comes from the results service (suppression included), every chart and table row
from the board's results page (reports/service.py), every file from exports/files.py and every
share link from the service the API's share-link route uses; these modules only pick and
show. figures.py: the rounds, a round and an area; compare.py: areas side by side;
exports.py: the downloads; share_links.py: making and revoking share links; common.py: what
they share.
"""

from fastapi import APIRouter

from survey_api.console.results import compare, exports, figures, share_links

router = APIRouter()
router.include_router(figures.router)
router.include_router(compare.router)
router.include_router(exports.router)
router.include_router(share_links.router)

__all__ = ["router"]
