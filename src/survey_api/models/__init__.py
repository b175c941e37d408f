"""All ORM models; imports nothing from the domain packages."""

from survey_api.models.area import POLICE_CLASSIFICATIONS, Area, AreaClassification
from survey_api.models.base import Base, utcnow
from survey_api.models.data_import import DATA_IMPORT_KINDS, DataImport
from survey_api.models.intervention import FormTokenUse, Intervention, InterventionArea
from survey_api.models.organisation import ROLES, ApiKey, Organisation
from survey_api.models.questionnaire import Questionnaire, QuestionnaireVersion
from survey_api.models.response import IdempotencyRecord, Invitation, PendingResponse, Response
from survey_api.models.share_link import ShareLink
from survey_api.models.staff import STAFF_ROLES, StaffPasswordToken, StaffSession, StaffUser
from survey_api.models.survey_round import ROUND_SOURCES, SurveyRound, SurveyRoundArea
from survey_api.models.tally import TallyBlock, TallyWatermark
from survey_api.models.webhook import (
    DELIVERY_STATUSES,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

__all__ = [
    "DATA_IMPORT_KINDS",
    "DELIVERY_STATUSES",
    "ROUND_SOURCES",
    "POLICE_CLASSIFICATIONS",
    "ROLES",
    "STAFF_ROLES",
    "ApiKey",
    "Area",
    "AreaClassification",
    "Base",
    "DataImport",
    "FormTokenUse",
    "IdempotencyRecord",
    "Intervention",
    "InterventionArea",
    "Invitation",
    "Organisation",
    "PendingResponse",
    "Questionnaire",
    "QuestionnaireVersion",
    "Response",
    "ShareLink",
    "StaffPasswordToken",
    "StaffSession",
    "StaffUser",
    "SurveyRound",
    "SurveyRoundArea",
    "TallyBlock",
    "TallyWatermark",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
    "utcnow",
]
