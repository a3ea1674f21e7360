"""HTTP routes of cliente-service: identity and customers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from app.entrypoints.deps import HasherDep, IssuerDep, UowDep
from app.entrypoints.schemas import CustomerCreate, CustomerRead, TokenResponse
from app.service_layer import services
from mercado_shared.auth import CurrentUser, OptionalUser
from mercado_shared.errors import Forbidden, error_body
from mercado_shared.money import ZERO

identity = APIRouter(tags=["identity"])
customers = APIRouter(prefix="/customers", tags=["customers"])

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: {"description": "no valid token"}}


@identity.post(
    "/auth/token",
    summary="Log in with email and password (OAuth2 password form)",
    response_model=TokenResponse,
    responses={401: {"description": "bad credentials"}},
)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    uow: UowDep,
    hasher: HasherDep,
    issuer: IssuerDep,
) -> TokenResponse:
    principal = services.authenticate(uow, hasher, form.username, form.password)
    if principal is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=error_body("INVALID_CREDENTIALS", "wrong email or password")["detail"],
            headers={"WWW-Authenticate": "Bearer"},
        )
    return TokenResponse(
        access_token=issuer.issue(principal.subject, principal.role),
        expires_in=issuer.ttl_seconds,
    )


@identity.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
def jwks(issuer: IssuerDep) -> dict[str, Any]:
    return issuer.jwks()


@customers.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a customer (self-registration, or staff with balance and credit)",
    response_model=CustomerRead,
    responses={
        403: {"description": "initial_balance or credit_limit sent without a staff token"},
        409: {"description": "EMAIL_ALREADY_REGISTERED or DOCUMENT_ALREADY_REGISTERED"},
    },
)
def register(body: CustomerCreate, principal: OptionalUser, uow: UowDep, hasher: HasherDep) -> CustomerRead:
    staff_fields = body.initial_balance is not None or body.credit_limit is not None
    if staff_fields and (principal is None or not principal.is_staff):
        raise Forbidden("STAFF_ONLY_FIELD", "only staff may set initial_balance or credit_limit")
    customer = services.register_customer(
        uow,
        hasher,
        services.NewCustomer(
            name=body.name,
            email=str(body.email).lower(),
            phone=body.phone,
            document=body.document,
            password=body.password,
            account_balance=body.initial_balance or ZERO,
            credit_limit=body.credit_limit or ZERO,
        ),
    )
    return CustomerRead.of(customer)


@customers.get("/me", summary="The caller's own customer record", response_model=CustomerRead, responses=_AUTH_ERRORS)
def me(principal: CurrentUser, uow: UowDep) -> CustomerRead:
    return CustomerRead.of(services.get_customer(uow, principal.subject, principal))


@customers.get(
    "/{customer_id}",
    summary="One customer (the customer itself or staff)",
    response_model=CustomerRead,
    responses={**_AUTH_ERRORS, 404: {"description": "CUSTOMER_NOT_FOUND"}},
)
def get_customer(customer_id: str, principal: CurrentUser, uow: UowDep) -> CustomerRead:
    return CustomerRead.of(services.get_customer(uow, customer_id, principal))
