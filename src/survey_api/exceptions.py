"""Domain errors and the one error envelope (RFC 9457 problem details).

SurveyError                     any error a client can act on
├── BadRequest            400   a request that is well-formed JSON but makes no sense
├── Unauthenticated       401   no or unknown API key
├── Forbidden             403   the key's role may not do this
├── NotFound              404   missing, or owned by another organisation (never distinguished)
├── Conflict              409   state forbids it: published version, used invitation, closed round
├── PayloadTooLarge       413   body over the configured limit
├── ValidationFailed      422   field-level errors, each with a location
├── IdempotencyKeyReused  422   an Idempotency-Key sent again with another body
└── ServiceUnavailable    503   the database cannot be reached or is busy; retry (Retry-After)
"""

from typing import Any

from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"


class SurveyError(Exception):
    """Base of every error rendered as application/problem+json."""

    status_code = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 body for this error."""
        body: dict[str, Any] = {
            "type": f"https://survey-api.example/problems/{self.type_slug}",
            "title": self.title,
            "status": self.status_code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class BadRequest(SurveyError):
    status_code = 400
    title = "Bad request"
    type_slug = "bad-request"


class Unauthenticated(SurveyError):
    status_code = 401
    title = "Unauthenticated"
    type_slug = "unauthenticated"


class Forbidden(SurveyError):
    status_code = 403
    title = "Forbidden"
    type_slug = "forbidden"


class NotFound(SurveyError):
    status_code = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(SurveyError):
    status_code = 409
    title = "Conflict"
    type_slug = "conflict"


class PayloadTooLarge(SurveyError):
    status_code = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class ValidationFailed(SurveyError):
    status_code = 422
    title = "Validation failed"
    type_slug = "validation-failed"


class IdempotencyKeyReused(SurveyError):
    status_code = 422
    title = "Idempotency key reused"
    type_slug = "idempotency-key-reused"


class ServiceUnavailable(SurveyError):
    status_code = 503
    title = "Service unavailable"
    type_slug = "service-unavailable"
    #: Seconds a client should wait before retrying (the Retry-After header).
    retry_after = 5


class FieldError(BaseModel):
    """One invalid field: where it is and what is wrong with it."""

    loc: list[str | int] = Field(
        description="Path to the field, e.g. ['body', 'answers', 'trivsel']."
    )
    msg: str
    type: str


class Problem(BaseModel):
    """An error, as application/problem+json (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


ERROR_DESCRIPTIONS = {
    400: "The request makes no sense (for example broken JSON).",
    401: "Missing or unknown API key.",
    403: "The API key's role may not do this.",
    404: "No such resource in your organisation.",
    409: "The resource's state forbids this.",
    413: "The request body is larger than the limit.",
    422: "A field is invalid; `errors` lists each one.",
    503: "The database cannot be reached or is busy; retry after `Retry-After` seconds.",
}


def problem_content(schema: str = "Problem") -> dict[str, Any]:
    """The `content` of an error response in the contract: only application/problem+json, a
    Problem or a schema that extends it (`schema`, e.g. an import's refusal with its report)."""
    return {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry documenting the listed error statuses of a route."""
    return {
        s: {"model": Problem, "description": ERROR_DESCRIPTIONS[s], "content": problem_content()}
        for s in statuses
    }
