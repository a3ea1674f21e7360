"""HTTP routes of cliente-service: identity and customers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.entrypoints.deps import (
    ActingUowDep,
    ContextDep,
    HasherDep,
    IssuerDep,
    MaybeActingUowDep,
    PeersDep,
    UowDep,
    cliente_context,
)
from app.entrypoints.schemas import (
    CustomerCreate,
    CustomerExport,
    CustomerFunds,
    CustomerPage,
    CustomerRead,
    CustomerUpdate,
    PasswordReset,
    PasswordResetAccepted,
    PasswordResetRequest,
    TokenResponse,
)
from app.service_layer import access, services
from mercado_shared.auth import CurrentUser, OptionalUser, StaffUser
from mercado_shared.client_address import client_address
from mercado_shared.errors import AUTH_ERRORS, STAFF_ERRORS, Conflict, error_body, error_responses
from mercado_shared.money import ZERO
from mercado_shared.pagination import Cursor, Limit, decode_time_cursor, encode_time_cursor
from mercado_shared.platform_auth import internal_caller

identity = APIRouter(tags=["identity"])
customers = APIRouter(prefix="/customers", tags=["customers"])
# Platform-only reads for the other services (ID tokens in production, the run's secret locally).
internal = APIRouter(prefix="/internal", dependencies=[Depends(internal_caller)], include_in_schema=False)

_NOT_FOUND = error_responses((404, "CUSTOMER_NOT_FOUND"))


@identity.post(
    "/auth/token",
    summary="Log in with email and password (OAuth2 password form)",
    response_model=TokenResponse,
    responses=error_responses(
        (401, "INVALID_CREDENTIALS"), (401, "TOTP_REQUIRED"), (429, "TOO_MANY_ATTEMPTS"), (503, "SERVICE_BUSY")
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "example": {"username": "maria@example.com", "password": "a-long-passphrase"}
                }
            }
        }
    },
)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    totp: Annotated[
        str | None, Form(max_length=16, description="staff: the 6-digit code of their authenticator app")
    ] = None,
    *,
    request: Request,
    uow: UowDep,
    hasher: HasherDep,
    issuer: IssuerDep,
) -> TokenResponse:
    limits = cliente_context(request).signin_limits
    vault = cliente_context(request).vault  # blind indexes: the limits' table holds neither in clear
    address = vault.index(client_address(request, cliente_context(request).forwarded_for_hops), "address")
    outcome = limits.before_sign_in(vault.index(_login_key(form.username), "login"), address)
    try:
        principal = services.authenticate(
            uow, hasher, form.username, form.password, totp_code=totp, now=cliente_context(request).clock()
        )
    except services.SecondFactorRequired:
        outcome(True)  # the password was right
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=error_body("TOTP_REQUIRED", "staff also send the 6-digit code of their authenticator (totp)")[
                "detail"
            ],
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    outcome(principal is not None)
    if principal is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=error_body("INVALID_CREDENTIALS", "wrong email or password")["detail"],
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = issuer.issue(principal.subject, principal.role, principal.session_version)
    return TokenResponse(access_token=token, expires_in=issuer.ttl_seconds)


def _reset_policy(request: Request) -> services.ResetPolicy:
    return cliente_context(request).reset_policy


def _address(request: Request) -> str:
    """The caller's address as the load balancer saw it, as a blind index."""
    address = client_address(request, cliente_context(request).forwarded_for_hops)
    return str(cliente_context(request).vault.index(address, "address"))


_RESET_ACCEPTED = PasswordResetAccepted(message="if this e-mail is a customer's, a reset link is on its way")


@identity.post(
    "/auth/password-resets",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Forgot the password: e-mail a reset link (the same answer whether or not the e-mail is known)",
    response_model=PasswordResetAccepted,
    responses=error_responses((429, "TOO_MANY_REQUESTS")),
)
def ask_password_reset(body: PasswordResetRequest, request: Request, uow: UowDep) -> PasswordResetAccepted:
    limits = cliente_context(request).signin_limits
    email = _login_key(str(body.email))
    allowed = limits.before_reset_request(cliente_context(request).vault.index(email, "login"), _address(request))
    services.ask_password_reset(uow, _reset_policy(request), cliente_context(request).clock, email, allowed)
    return _RESET_ACCEPTED


@identity.post(
    "/auth/password-resets/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the token of a reset link; every session of the account ends",
    responses=error_responses((400, "INVALID_RESET_TOKEN"), (429, "TOO_MANY_REQUESTS"), (503, "SERVICE_BUSY")),
)
def reset_password(body: PasswordReset, request: Request, uow: UowDep, hasher: HasherDep) -> Response:
    limits = cliente_context(request).signin_limits
    limits.before_reset(_address(request))
    services.reset_password(uow, hasher, cliente_context(request).clock, body.token, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_JWKS_EXAMPLE = {
    "keys": [{"kty": "EC", "crv": "P-256", "x": "...", "y": "...", "kid": "Zt3...", "use": "sig", "alg": "ES256"}]
}


@identity.get(
    "/.well-known/jwks.json",
    summary="Public keys that verify access tokens",
    responses={200: {"content": {"application/json": {"example": _JWKS_EXAMPLE}}}},
)
def jwks(issuer: IssuerDep) -> dict[str, Any]:
    return issuer.jwks()


@customers.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a customer (self-registration, or staff with balance and credit)",
    response_model=CustomerRead,
    responses=error_responses(
        (401, "NOT_AUTHENTICATED"),
        (403, "STAFF_ONLY_FIELD"),
        (409, "EMAIL_ALREADY_REGISTERED"),
        (409, "DOCUMENT_ALREADY_REGISTERED"),
        (429, "TOO_MANY_REQUESTS"),
        (503, "SERVICE_BUSY"),
    ),
)
def register(
    body: CustomerCreate, principal: OptionalUser, uow: MaybeActingUowDep, hasher: HasherDep, request: Request
) -> CustomerRead:
    access.write_fields(principal, {f for f in access.STAFF_ONLY_FIELDS if getattr(body, f) is not None})
    new = services.NewCustomer(
        name=body.name,
        email=str(body.email).lower(),
        phone=body.phone,
        document=body.document,
        password=body.password,
        account_balance=body.initial_balance or ZERO,
        credit_limit=body.credit_limit or ZERO,
    )
    if principal is not None:
        return CustomerRead.of(services.register_customer(uow, hasher, new))
    # Anonymous self-registration: limited per address, and so is how often one address
    # may hear that an e-mail or CPF is already a customer's.
    limits = cliente_context(request).signin_limits
    address = client_address(request, cliente_context(request).forwarded_for_hops)
    settle = limits.before_registration(cliente_context(request).vault.index(address, "address"))
    duplicate = False
    try:
        customer = services.register_customer(uow, hasher, new)
    except Conflict:
        duplicate = True
        raise
    finally:
        settle(duplicate)
    return CustomerRead.of(customer)


@customers.get(
    "",
    summary="All customers, oldest first (staff); e-mail and phone masked until one record is opened",
    response_model=CustomerPage,
    responses={**STAFF_ERRORS, **error_responses((422, "INVALID_CURSOR"))},
)
def list_customers(_: StaffUser, uow: UowDep, limit: Limit = 50, cursor: Cursor = None) -> CustomerPage:
    after = None
    if cursor is not None:
        after = decode_time_cursor(cursor)
    page, total, following = services.list_customers(uow, after, limit)
    next_cursor = encode_time_cursor(*following) if following else None
    listed = [CustomerRead.of(c, contacts_masked=True) for c in page]
    return CustomerPage(customers=listed, total=total, next_cursor=next_cursor)


@customers.get(
    "/me",
    summary="The caller's own customer record (a staff token has none: 404)",
    response_model=CustomerRead,
    responses={**AUTH_ERRORS, **_NOT_FOUND},
)
def me(principal: CurrentUser, uow: UowDep) -> CustomerRead:
    return CustomerRead.of(services.get_customer(uow, principal.subject, principal))


@customers.get(
    "/{customer_id}",
    summary="One customer (the customer itself or staff)",
    response_model=CustomerRead,
    responses={**AUTH_ERRORS, **_NOT_FOUND},
)
def get_customer(customer_id: str, principal: CurrentUser, uow: UowDep) -> CustomerRead:
    return CustomerRead.of(services.get_customer(uow, customer_id, principal))


@customers.patch(
    "/{customer_id}",
    summary="Change name, email, phone or password (the customer or staff); credit_limit (staff)",
    response_model=CustomerRead,
    description=(
        "The customer changes email or password only with `current_password` (a wrong one "
        "counts as a failed sign-in); staff never set a password, they send a reset."
    ),
    responses=error_responses(
        (401, "NOT_AUTHENTICATED"),
        (403, "STAFF_ONLY_FIELD"),
        (403, "STAFF_CANNOT_SET_PASSWORD"),
        (403, "WRONG_PASSWORD"),
        (404, "CUSTOMER_NOT_FOUND"),
        (409, "EMAIL_ALREADY_REGISTERED"),
        (409, "CREDIT_LIMIT_BELOW_USED"),
        (409, "CUSTOMER_ANONYMISED"),
        (422, "CURRENT_PASSWORD_REQUIRED"),
        (429, "TOO_MANY_ATTEMPTS"),
        (503, "SERVICE_BUSY"),
    ),
)
def update_customer(
    customer_id: str,
    body: CustomerUpdate,
    principal: CurrentUser,
    uow: ActingUowDep,
    hasher: HasherDep,
    request: Request,
) -> CustomerRead:
    changes = services.CustomerChanges(
        name=body.name,
        email=str(body.email).lower() if body.email is not None else None,
        phone=body.phone,
        password=body.password,
        current_password=body.current_password,
        credit_limit=body.credit_limit,
    )
    guard = _sign_in_guard(request)
    return CustomerRead.of(services.update_customer(uow, hasher, customer_id, principal, changes, guard))


def _sign_in_guard(request: Request) -> services.PasswordGuard:
    """The sign-in limits for a password checked outside POST /auth/token: the same
    buckets (account and address), so a stolen token gains no extra guesses."""
    limits = cliente_context(request).signin_limits
    vault = cliente_context(request).vault
    address = vault.index(client_address(request, cliente_context(request).forwarded_for_hops), "address")
    return lambda email: limits.before_sign_in(vault.index(_login_key(email), "login"), address)


def _login_key(email: str) -> str:
    """One bucket per account however the e-mail is written ("Maria@…" is "maria@…")."""
    return email.strip().lower()


@customers.post(
    "/{customer_id}/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="E-mail the customer a password reset link (staff, who never set a password themselves)",
    response_model=PasswordResetAccepted,
    responses={**STAFF_ERRORS, **_NOT_FOUND, **error_responses((409, "CUSTOMER_ANONYMISED"))},
)
def send_password_reset(customer_id: str, _: StaffUser, request: Request, uow: ActingUowDep) -> PasswordResetAccepted:
    services.send_password_reset(uow, _reset_policy(request), cliente_context(request).clock, customer_id)
    return PasswordResetAccepted(message="a reset link is on its way to the customer's e-mail")


@customers.get(
    "/{customer_id}/export",
    summary="All personal data held about the customer, unmasked (the customer; LGPD access)",
    response_model=CustomerExport,
    description=(
        "With what the other services hold about the customer: its purchases, payment codes, "
        "payments and the vehicles it bought. 503 when one of them cannot answer: an export "
        "is complete or not given."
    ),
    responses=error_responses(
        (401, "NOT_AUTHENTICATED"), (403, "FORBIDDEN"), (404, "CUSTOMER_NOT_FOUND"), (503, "SERVICE_UNAVAILABLE")
    ),
)
def export_customer(customer_id: str, principal: CurrentUser, uow: UowDep, context: ContextDep) -> CustomerExport:
    customer, holds = services.export_customer(uow, customer_id, principal)
    return CustomerExport.of(customer, holds, context.peers.held_about(customer.id), context.clock())


@customers.delete(
    "/{customer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase the customer's personal data (the customer or staff; LGPD); purchases stay",
    responses=error_responses(
        (401, "NOT_AUTHENTICATED"),
        (404, "CUSTOMER_NOT_FOUND"),
        (409, "PURCHASE_IN_PROGRESS"),
        (503, "SERVICE_UNAVAILABLE"),
    ),
)
def anonymise_customer(customer_id: str, principal: CurrentUser, uow: ActingUowDep, peers: PeersDep) -> Response:
    services.anonymise_customer(uow, peers, customer_id, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@internal.get("/customers/{customer_id}/funds", response_model=CustomerFunds)
def customer_funds(customer_id: str, uow: UowDep) -> CustomerFunds:
    """What the orchestrator checks before a purchase starts: money, no personal data."""
    return CustomerFunds.of(services.funds_of(uow, customer_id))
