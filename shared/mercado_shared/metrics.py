"""Prometheus metrics every service exports on ``GET /metrics``."""

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_LONG_POLL = Histogram(
    "http_long_poll_seconds",
    "Requests that held a long poll (kept out of http_request_duration_seconds and its alert)",
    ["service", "method", "route"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 15, 20, 25, 30),
)
MESSAGES = Counter(
    "messages_handled_total",
    "Pub/Sub messages received, by outcome (handled, duplicate, rejected, failed)",
    ["service", "type", "outcome"],
)
HANDLER_LATENCY = Histogram(
    "message_handler_duration_seconds",
    "Time to handle one message, commit included",
    ["service", "type"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DEAD_LETTER_BOUND = Counter(
    "messages_last_attempt_failed_total",
    "Messages that failed on an attempt at or past the dead-letter limit",
    ["service", "type"],
)
DEAD_LETTERS_STORED = Counter(
    "dead_letters_stored_total", "Dead letters kept for staff (POST /pubsub/dead-letters)", ["service", "type"]
)
PURCHASES_ARCHIVED = Counter(
    "purchases_archived_total", "Finished purchases written to the archive bucket and purged (orquestrador)"
)
RETENTION_PURGED = Counter(
    "retention_purged_rows_total",
    "Rows deleted once their use was over (mercado_shared.retention)",
    ["service", "table"],
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows sent to the broker", ["service", "result"])
OUTBOX_LAG = Histogram(
    "outbox_lag_seconds",
    "Time from an outbox row's commit to its publication",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SAGA_STEP_DURATION = Histogram(
    "saga_step_duration_seconds",
    "Time a purchase spent in a step, from entering it to the reply that moved it on",
    ["step"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
MAIL_DEAD_LETTERED = Counter(
    "mail_dead_lettered_total", "Mail the relay never took by its deadline, kept as a dead letter (cliente-service)"
)
REFUNDS_STUCK = Counter(
    "refunds_stuck_total", "Refunds the Pix provider refused every time: staff return them by hand (pagamento-service)"
)
SAGA_TRANSITIONS = Counter(
    "saga_transitions_total", "Purchases entering a status (one count per transition)", ["status"]
)
