"""The canonical store data model, defined once.

Ingest validates against it, the warehouse creates tables from it, the synthetic store writes it,
docs/schema.md is rendered from it, and the tests read it. Times are UTC (naive timestamps that
mean UTC); money is a float in the row's ISO 4217 currency; ids are strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis

# ISO 4217 active alphabetic codes (plus XXX for "no currency").
ISO_CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
    MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
    RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF XSU XUA YER ZAR
    ZMW ZWG ZWL XXX
    """.split()
)

# Segment e-commerce spec v2 event names, plus the e-mail events storelift reads for campaigns.
SEGMENT_EVENTS = frozenset(
    [
        "Products Searched",
        "Product List Viewed",
        "Product List Filtered",
        "Promotion Viewed",
        "Promotion Clicked",
        "Product Clicked",
        "Product Viewed",
        "Product Added",
        "Product Removed",
        "Cart Viewed",
        "Checkout Started",
        "Checkout Step Viewed",
        "Checkout Step Completed",
        "Payment Info Entered",
        "Order Completed",
        "Order Updated",
        "Order Refunded",
        "Order Cancelled",
        "Coupon Entered",
        "Coupon Applied",
        "Coupon Denied",
        "Coupon Removed",
        "Product Added to Wishlist",
        "Product Removed from Wishlist",
        "Wishlist Product Added to Cart",
        "Product Shared",
        "Cart Shared",
        "Product Reviewed",
        "Email Delivered",
        "Email Opened",
        "Email Link Clicked",
        "Email Clicked",
        "Email Bounced",
        "Email Marked as Spam",
        "Unsubscribed",
        "Page Viewed",
        "Recommendation Shown",
    ]
)

CONSENT_PURPOSES = frozenset(["analytics", "personalization", "email", "sms", "pricing_profiling"])

# Timestamps outside this window are treated as impossible (a typo or a unit error).
EARLIEST_TIME = "1990-01-01"


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    dtype: str  # an ibis type name: string, int64, float64, boolean, timestamp
    description: str
    required: bool = False
    pii: bool = False
    min_value: float | None = None
    min_inclusive: bool = True
    allowed: frozenset[str] | None = None
    is_currency: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns and the natural key that makes loads idempotent."""

    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    system: bool = False  # written by storelift itself, not loaded from a store's exports
    fillable: bool = False  # an entity: a later load may fill its empty columns

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    def ibis_schema(self) -> ibis.Schema:
        return ibis.schema({c.name: c.dtype for c in self.columns})

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]


def _c(name, dtype, description, **kw) -> Column:
    return Column(name, dtype, description, **kw)


SOURCE = _c("source", "string", "Where the row came from: format and file name.")

CUSTOMERS = TableSpec(
    "customers",
    "One row per known customer. PII columns hold keyed pseudonyms unless raw PII is opted in.",
    ("customer_id",),
    (
        _c("customer_id", "string", "Store's customer id (or a pseudonym of the e-mail when the store has none).", required=True),
        _c("email", "string", "E-mail address (PII: pseudonymized at ingest).", pii=True),
        _c("phone", "string", "Phone number (PII: pseudonymized at ingest).", pii=True),
        _c("first_name", "string", "Given name (PII).", pii=True),
        _c("last_name", "string", "Family name (PII).", pii=True),
        _c("street_address", "string", "Street address (PII).", pii=True),
        _c("city", "string", "City."),
        _c("postal_code", "string", "Postal code."),
        _c("region", "string", "State, province or region."),
        _c("country", "string", "Country: ISO 3166-1 alpha-2 code where the source gives one, else its name."),
        _c("created_at", "timestamp", "Sign-up or first-seen time (UTC)."),
        _c("acquisition_channel", "string", "Channel that acquired the customer (e.g. search, social, email)."),
        _c("gender", "string", "Self-declared gender; a protected attribute, used only for fairness audits."),
        _c("birth_year", "int64", "Year of birth; a protected attribute (age), used only for fairness audits.", min_value=1900),
        SOURCE,
    ),
    fillable=True,
)

PRODUCTS = TableSpec(
    "products",
    "One row per product (or non-merchandise line such as postage or fees).",
    ("product_id",),
    (
        _c("product_id", "string", "Store's product id or SKU.", required=True),
        _c("title", "string", "Product name."),
        _c("description", "string", "Long description."),
        _c("category", "string", "Category path, levels separated by ' > '."),
        _c("brand", "string", "Brand."),
        _c("vendor", "string", "Vendor or supplier."),
        _c("price", "float64", "List price.", min_value=0),
        _c("cost", "float64", "Unit cost, for margins.", min_value=0),
        _c("currency", "string", "ISO 4217 currency of price and cost.", is_currency=True),
        _c("product_type", "string", "merchandise, service, fee or adjustment.",
           allowed=frozenset(["merchandise", "service", "fee", "adjustment"])),
        _c("stock_quantity", "int64", "Units in stock, when known."),
        _c("created_at", "timestamp", "When the product was listed (UTC)."),
        SOURCE,
    ),
    fillable=True,
)

ORDERS = TableSpec(
    "orders",
    "One row per order (sale). Revenue lives on order_lines; returns live in refunds.",
    ("order_id",),
    (
        _c("order_id", "string", "Order id, unique within the store.", required=True),
        _c("customer_id", "string", "Customer; null for a guest order."),
        _c("anonymous_id", "string", "Device or cookie id when the customer is unknown."),
        _c("ordered_at", "timestamp", "When the order was placed (UTC).", required=True),
        _c("currency", "string", "ISO 4217 currency of every amount on the order.", required=True, is_currency=True),
        _c("country", "string", "Shipping or billing country."),
        _c("channel", "string", "Sales channel (web, app, pos, marketplace)."),
        _c("status", "string", "completed, cancelled, refunded or pending.",
           allowed=frozenset(["completed", "cancelled", "refunded", "partially_refunded", "pending"])),
        _c("shipping_amount", "float64", "Shipping charged.", min_value=0),
        _c("tax_amount", "float64", "Tax charged.", min_value=0),
        _c("discount_amount", "float64", "Order-level discount.", min_value=0),
        _c("session_id", "string", "Web session that placed the order."),
        _c("decision_id", "string", "storelift decision that led to the order, when known."),
        SOURCE,
    ),
    fillable=True,
)

ORDER_LINES = TableSpec(
    "order_lines",
    "One row per product line of an order. line_number is the line's position within its order.",
    ("order_id", "line_number"),
    (
        _c("order_id", "string", "Order the line belongs to.", required=True),
        _c("line_number", "int64", "1-based position of the line within its order, in source order.", required=True, min_value=1),
        _c("product_id", "string", "Product sold.", required=True),
        _c("quantity", "float64", "Units sold; positive (returns are refunds).", required=True, min_value=0, min_inclusive=False),
        _c("unit_price", "float64", "Price per unit before line discount; null when the source has no prices.", min_value=0),
        _c("discount_amount", "float64", "Discount on the line.", min_value=0),
        _c("amount", "float64", "Net line revenue = quantity * unit_price - discount_amount; null when unknown.", min_value=0),
        SOURCE,
    ),
)

REFUNDS = TableSpec(
    "refunds",
    "Cancellations, returns and refunds, positive quantities and amounts, linked to their order where possible.",
    ("refund_id",),
    (
        _c("refund_id", "string", "Refund id (source document and line).", required=True),
        _c("order_id", "string", "Original order, when it can be found; null otherwise."),
        _c("source_document", "string", "The source's own document id (e.g. the 'C' invoice number)."),
        _c("customer_id", "string", "Customer refunded; null for guests."),
        _c("refunded_at", "timestamp", "When the refund happened (UTC).", required=True),
        _c("product_id", "string", "Product returned; null for an order-level refund."),
        _c("quantity", "float64", "Units returned (positive).", min_value=0),
        _c("amount", "float64", "Money refunded (positive).", min_value=0),
        _c("currency", "string", "ISO 4217 currency.", required=True, is_currency=True),
        _c("kind", "string", "cancellation, return, refund or adjustment.",
           allowed=frozenset(["cancellation", "return", "refund", "adjustment"])),
        _c("reason", "string", "Why, when the source says."),
        SOURCE,
    ),
)

EVENTS = TableSpec(
    "events",
    "Behavioural events, named and shaped by the Segment e-commerce spec.",
    ("event_id",),
    (
        _c("event_id", "string", "Unique event id (Segment messageId).", required=True),
        _c("event", "string", "Event name from the Segment e-commerce spec (e.g. 'Product Viewed').", required=True),
        _c("customer_id", "string", "Known customer (Segment userId)."),
        _c("anonymous_id", "string", "Device or cookie id (Segment anonymousId)."),
        _c("session_id", "string", "Session id."),
        _c("occurred_at", "timestamp", "When it happened (UTC); null only when the source has no times (sequence then orders it)."),
        _c("sequence", "int64", "Position in the customer's stream when the source gives order but no time.", min_value=0),
        _c("product_id", "string", "Product concerned, if one."),
        _c("order_id", "string", "Order concerned, if one."),
        _c("query", "string", "Search query (Products Searched)."),
        _c("value", "float64", "Money value of the event (price, revenue, total)."),
        _c("currency", "string", "ISO 4217 currency of value.", is_currency=True),
        _c("decision_id", "string", "storelift decision shown, for impressions and clicks."),
        _c("properties", "string", "All event properties as JSON."),
        SOURCE,
    ),
)

CONSENTS = TableSpec(
    "consents",
    "Consent history: one row per grant or withdrawal; the latest row per customer and purpose is in force.",
    ("customer_id", "purpose", "recorded_at"),
    (
        _c("customer_id", "string", "Customer.", required=True),
        _c("purpose", "string", "analytics, personalization, email, sms or pricing_profiling.", required=True,
           allowed=CONSENT_PURPOSES),
        _c("granted", "boolean", "True for a grant, false for a withdrawal or refusal.", required=True),
        _c("recorded_at", "timestamp", "When it was given or withdrawn (UTC).", required=True),
        SOURCE,
    ),
)

TOUCHES = TableSpec(
    "touches",
    "Marketing touchpoints: a send, impression or click on a channel, with its cost.",
    ("touch_id",),
    (
        _c("touch_id", "string", "Touch id.", required=True),
        _c("customer_id", "string", "Customer touched, when known."),
        _c("anonymous_id", "string", "Device or cookie id."),
        _c("channel", "string", "Channel: email, sms, paid_search, paid_social, display, affiliate, organic...", required=True),
        _c("campaign", "string", "Campaign name."),
        _c("kind", "string", "send, impression, click or open."),
        _c("touched_at", "timestamp", "When (UTC).", required=True),
        _c("cost", "float64", "Cost of this touch.", min_value=0),
        _c("currency", "string", "ISO 4217 currency of cost.", is_currency=True),
        SOURCE,
    ),
)

ASSIGNMENTS = TableSpec(
    "assignments",
    "Experiment and holdout assignments (deterministic: hash of salt and customer id).",
    ("experiment", "customer_id"),
    (
        _c("experiment", "string", "Experiment or initiative.", required=True),
        _c("customer_id", "string", "Customer (pseudonymous).", required=True),
        _c("arm", "string", "Arm assigned (treatment, control, holdout...).", required=True),
        _c("assigned_at", "timestamp", "When (UTC).", required=True),
        _c("salt", "string", "Salt of the hash that assigned it."),
    ),
    system=True,
)

DECISIONS = TableSpec(
    "decisions",
    "Every automated choice about a customer, so outcomes can be joined back to it.",
    ("decision_id",),
    (
        _c("decision_id", "string", "Decision id.", required=True),
        _c("decided_at", "timestamp", "When (UTC).", required=True),
        _c("customer_id", "string", "Customer (pseudonymous)."),
        _c("initiative", "string", "Initiative (recommendations, campaign, pricing...).", required=True),
        _c("placement", "string", "Where it was shown."),
        _c("arm", "string", "treatment or holdout arm.", required=True),
        _c("has_consent", "boolean", "Whether the customer's consent allowed personalization."),
        _c("model_version", "string", "Model artifact version."),
        _c("shown", "string", "What was shown, as JSON."),
        _c("explanation", "string", "Why, in words."),
    ),
    system=True,
)

AUDIT_LOG = TableSpec(
    "audit_log",
    "Append-only, hash-chained record of training, deployment, approvals, erasures and config changes.",
    ("seq",),
    (
        _c("seq", "int64", "Position in the chain.", required=True),
        _c("at", "timestamp", "When (UTC).", required=True),
        _c("actor", "string", "Who.", required=True),
        _c("action", "string", "What.", required=True),
        _c("subject", "string", "On what."),
        _c("details", "string", "Details as JSON."),
        _c("prev_hash", "string", "Hash of the previous entry."),
        _c("hash", "string", "SHA-256 of this entry and prev_hash.", required=True),
    ),
    system=True,
)

APPROVAL_STATUSES = frozenset(["pending", "approved", "rejected", "auto_approved", "withdrawn"])

APPROVALS = TableSpec(
    "approvals",
    "Human-in-the-loop approval queue, append-only: one row per state change of a request (submitted, then "
    "approved, rejected or withdrawn); the row with the highest step is the request's current state.",
    ("request_id", "step"),
    (
        _c("request_id", "string", "Request id.", required=True),
        _c("step", "int64", "0 for the submission, 1 for the decision or withdrawal that follows; the highest "
           "step is in force.", required=True, min_value=0),
        _c("kind", "string", "What is proposed: price_change, generated_content, fraud_hold or another kind a "
           "capability names.", required=True),
        _c("subject", "string", "What it is about, e.g. a product id (pseudonymous when it is a customer)."),
        _c("proposal", "string", "The proposed change as JSON."),
        _c("status", "string", "pending, approved, rejected, auto_approved or withdrawn.", required=True,
           allowed=APPROVAL_STATUSES),
        _c("rule", "string", "The policy rule that sent the request to the queue or let it through."),
        _c("requested_by", "string", "Who proposed it (a person or a storelift job).", required=True),
        _c("requested_at", "timestamp", "When it was proposed (UTC).", required=True),
        _c("reason_requested", "string", "Why it was proposed."),
        _c("decided_by", "string", "Who approved, rejected or withdrew it; storelift-policy for an auto-approval."),
        _c("decided_at", "timestamp", "When (UTC)."),
        _c("decision_reason", "string", "Why it was approved, rejected or withdrawn."),
        _c("recorded_at", "timestamp", "When this row was written (UTC).", required=True),
    ),
    system=True,
)

QUARANTINE = TableSpec(
    "quarantine",
    "Source rows that failed validation, with where they came from and why. Nothing is dropped silently.",
    ("source_file", "line", "raw"),
    (
        _c("ingest_id", "string", "The ingest run.", required=True),
        _c("source_file", "string", "File the row came from.", required=True),
        _c("line", "int64", "1-based line (CSV, JSON lines) or row number (Parquet) in the source.", required=True),
        _c("raw", "string", "The row as read (PII masked unless raw PII is opted in).", required=True),
        _c("reason", "string", "What is wrong and how to fix it.", required=True),
        _c("quarantined_at", "timestamp", "When (UTC).", required=True),
    ),
    system=True,
)

INGEST_RUNS = TableSpec(
    "ingest_runs",
    "One row per ingest: the counts that reconcile, read = loaded + quarantined + duplicates.",
    ("ingest_id",),
    (
        _c("ingest_id", "string", "Run id.", required=True),
        _c("source_file", "string", "File ingested.", required=True),
        _c("format", "string", "Source format.", required=True),
        _c("started_at", "timestamp", "Start (UTC).", required=True),
        _c("finished_at", "timestamp", "End (UTC)."),
        _c("rows_read", "int64", "Source records read.", required=True),
        _c("rows_loaded", "int64", "Records loaded as new rows.", required=True),
        _c("rows_quarantined", "int64", "Records sent to quarantine.", required=True),
        _c("rows_duplicate", "int64", "Records whose natural key was already loaded.", required=True),
    ),
    system=True,
)

CUSTOMER_SCORES = TableSpec(
    "customer_scores",
    "Per-customer segment, lifetime value and churn scores as of a date, from one versioned model run.",
    ("customer_id", "as_of", "model_version"),
    (
        _c("customer_id", "string", "Customer (pseudonymous).", required=True),
        _c("as_of", "timestamp", "Scores use only orders before this time (UTC).", required=True),
        _c("model_version", "string", "Version of the model run that wrote the row.", required=True),
        _c("scored_at", "timestamp", "When the row was written (UTC).", required=True),
        _c("recency_days", "float64", "Days from the last order to as_of."),
        _c("frequency", "int64", "Orders before as_of."),
        _c("monetary", "float64", "Net order value before as_of."),
        _c("rfm_cell", "string", "Recency-frequency-monetary quintile scores, e.g. 5-4-3 (5 is best)."),
        _c("rfm_segment", "string", "Named RFM segment (Champions, At risk, ...)."),
        _c("cluster", "int64", "Behavioural cluster number."),
        _c("cluster_name", "string", "What sets the cluster apart, in words."),
        _c("p_alive", "float64", "BG/NBD probability that the customer is still active."),
        _c("expected_purchases", "float64", "BG/NBD expected purchases over the CLV horizon."),
        _c("clv", "float64", "Discounted lifetime value over the horizon (BG/NBD x Gamma-Gamma)."),
        _c("clv_low", "float64", "Lower bound of the CLV interval."),
        _c("clv_high", "float64", "Upper bound of the CLV interval."),
        _c("churn_probability", "float64", "Calibrated probability of no order in the churn horizon."),
        _c("next_purchase_days", "float64", "Predicted days to the next order (median)."),
        _c("next_purchase_low", "float64", "Lower end of the predicted next-order window, days."),
        _c("next_purchase_high", "float64", "Upper end of the predicted next-order window, days."),
        _c("churn_reasons", "string", "The largest contributions to the churn score, in words."),
    ),
    system=True,
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        CUSTOMERS, PRODUCTS, ORDERS, ORDER_LINES, REFUNDS, EVENTS, CONSENTS, TOUCHES,
        ASSIGNMENTS, DECISIONS, AUDIT_LOG, APPROVALS, QUARANTINE, INGEST_RUNS, CUSTOMER_SCORES,
    )
}


def spec(name: str) -> TableSpec:
    """The canonical table called `name`, with an error that lists the valid names."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no canonical table {name!r}; tables are {', '.join(TABLES)}") from None


def render_markdown() -> str:
    """docs/schema.md, rendered from the definitions above so the two never disagree."""
    out = [
        "# storelift canonical schema",
        "",
        "Rendered from `src/storelift/schema.py` (`python -m storelift.schema > docs/schema.md`).",
        "Times are UTC; money is in the row's ISO 4217 currency; ids are strings.",
        "PII columns are replaced at ingest by keyed pseudonyms (`psn_` + HMAC-SHA256) unless the",
        "workspace opts in to raw PII.",
        "",
    ]
    for t in TABLES.values():
        kind = "written by storelift" if t.system else "loaded from store exports"
        out += [f"## {t.name}", "", f"{t.description} Natural key: `{', '.join(t.key)}`; {kind}.", ""]
        out += ["| column | type | required | notes |", "|---|---|---|---|"]
        for c in t.columns:
            notes = c.description
            if c.pii:
                notes += " **PII**"
            if c.is_currency:
                notes += " (ISO 4217)"
            if c.min_value is not None:
                op = ">=" if c.min_inclusive else ">"
                notes += f" Must be {op} {c.min_value:g}."
            out.append(f"| {c.name} | {c.dtype} | {'yes' if c.required else ''} | {notes} |")
        out.append("")
    out += ["## Event names", "", "Segment e-commerce spec v2, plus e-mail and page events:", ""]
    out += [", ".join(sorted(SEGMENT_EVENTS)), ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render_markdown(), end="")
