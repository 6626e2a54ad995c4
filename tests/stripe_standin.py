"""A local stand-in for the parts of Stripe's API the site calls, and webhook signing as Stripe does it.

It speaks Stripe's wire format (form-encoded requests with bracketed keys, JSON objects and errors, Bearer
authentication, `Idempotency-Key`), so the real `stripe` library talks to it unchanged. Sessions live in
memory; a test moves them along (paid, expired) as a buyer and Stripe would.
"""

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SESSION_PATH = re.compile(r"^/v1/checkout/sessions/(?P<id>[A-Za-z0-9_]+)$")
ACCOUNT_PATH = re.compile(r"^/v1/accounts/(?P<id>[A-Za-z0-9_]+)$")


def _nested(form: list[tuple[str, str]]) -> dict[str, Any]:
    """`line_items[0][price_data][unit_amount]=100` and friends, as the dicts and lists they encode."""
    root: dict[str, Any] = {}
    for key, value in form:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists_restored(root)


def _lists_restored(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if value and all(key.isdigit() for key in value):
        return [_lists_restored(value[key]) for key in sorted(value, key=int)]
    return {key: _lists_restored(item) for key, item in value.items()}


def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header for the payload: `t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(payload, secret, timestamp)}"


def signature(payload: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


class StripeStandIn:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.sessions: dict[str, dict[str, Any]] = {}
        # Idempotency key -> (the parameters first sent with it, the session they created).
        self.idempotency_keys: dict[str, tuple[dict[str, Any], str]] = {}
        self.create_requests = 0
        # Connect: accounts and transfers. Like Stripe, a key's first answer (a refusal included) is kept and
        # given again to every request that reuses the key.
        self.accounts: dict[str, dict[str, Any]] = {}
        self.transfers: dict[str, dict[str, Any]] = {}
        self.transfer_requests: dict[str, int] = {}
        self.transfer_refusals: list[str] = []
        # Refunds, by id; each names the payment intent it gave back.
        self.refunds: dict[str, dict[str, Any]] = {}
        self.saved_answers: dict[str, tuple[dict[str, Any], int, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- what a test does ----------------------------------------------------------------------------------

    def pay(self, session_id: str, **overrides: Any) -> dict[str, Any]:
        """The buyer paid on Stripe's page; `overrides` let a test change what Stripe reports."""
        # A delayed payment keeps the payment intent it was completed with.
        intent = self.session(session_id)["payment_intent"] or f"pi_{uuid.uuid4().hex[:24]}"
        return self._update(
            session_id,
            **{"status": "complete", "payment_status": "paid", "payment_intent": intent, **overrides},
        )

    def complete_pending(self, session_id: str) -> dict[str, Any]:
        """The buyer chose a delayed payment method (a bank debit): complete, but not paid yet."""
        return self._update(
            session_id,
            status="complete",
            payment_status="unpaid",
            payment_intent=f"pi_{uuid.uuid4().hex[:24]}",
        )

    def expire(self, session_id: str) -> dict[str, Any]:
        return self._update(session_id, status="expired", url=None)

    def session(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(self.sessions[session_id])

    def _update(self, session_id: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            self.sessions[session_id].update(fields)
            return dict(self.sessions[session_id])

    def refuse_next_transfer(self, message: str = "Your balance is insufficient for this transfer.") -> None:
        """The next transfer request is refused as Stripe refuses one it cannot make (a 400)."""
        with self._lock:
            self.transfer_refusals.append(message)

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        """The creator finished Stripe's onboarding pages."""
        with self._lock:
            self.accounts[account_id].update(details_submitted=True, payouts_enabled=True)
            return dict(self.accounts[account_id])

    def transfers_to(self, destination: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(t) for t in self.transfers.values() if t["destination"] == destination]

    # --- the API -------------------------------------------------------------------------------------------

    def _post_routes(self) -> dict[str, Any]:
        return {
            "/v1/checkout/sessions": self._session_create,
            "/v1/transfers": self._transfer_create,
            "/v1/accounts": self._account_create,
            "/v1/account_links": self._account_link_create,
            "/v1/refunds": self._refund_create,
        }

    def _idempotent(self, key: str | None, params: dict[str, Any], answer: Any) -> tuple[int, dict[str, Any]]:
        """`answer()` once per idempotency key; the same answer again for a replay, a refusal for other params."""
        if key and key in self.saved_answers:
            first_params, status, body = self.saved_answers[key]
            if params != first_params:
                return 400, {
                    "error": {
                        "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.",
                    }
                }
            return status, dict(body)
        status, body = answer()
        if key:
            self.saved_answers[key] = (params, status, body)
        return status, dict(body)

    def _transfer_create(
        self, params: dict[str, Any], idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        def answer() -> tuple[int, dict[str, Any]]:
            if self.transfer_refusals:
                message = self.transfer_refusals.pop(0)
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "balance_insufficient",
                        "message": message,
                    }
                }
            destination = self.accounts.get(params.get("destination", ""))
            if destination is None:
                return 400, {"error": {"type": "invalid_request_error", "message": "No such destination."}}
            transfer = {
                "id": f"tr_{uuid.uuid4().hex[:24]}",
                "object": "transfer",
                "amount": int(params["amount"]),
                "currency": params["currency"],
                "destination": destination["id"],
                "transfer_group": params.get("transfer_group"),
                "metadata": params.get("metadata", {}),
                "created": int(time.time()),
            }
            self.transfers[transfer["id"]] = transfer
            return 200, transfer

        with self._lock:
            if idempotency_key:
                self.transfer_requests[idempotency_key] = self.transfer_requests.get(idempotency_key, 0) + 1
            return self._idempotent(idempotency_key, params, answer)

    def _refund_create(
        self, params: dict[str, Any], idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        def answer() -> tuple[int, dict[str, Any]]:
            intent = params.get("payment_intent", "")
            paid = any(session.get("payment_intent") == intent for session in self.sessions.values())
            if not intent or not paid:
                return 400, {"error": {"type": "invalid_request_error", "message": "No such payment_intent."}}
            refund = {
                "id": f"re_{uuid.uuid4().hex[:24]}",
                "object": "refund",
                "payment_intent": intent,
                "reason": params.get("reason"),
                "status": "succeeded",
                "metadata": params.get("metadata", {}),
            }
            self.refunds[refund["id"]] = refund
            return 200, refund

        with self._lock:
            return self._idempotent(idempotency_key, params, answer)

    def _account_create(
        self, params: dict[str, Any], idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        def answer() -> tuple[int, dict[str, Any]]:
            account = {
                "id": f"acct_{uuid.uuid4().hex[:16]}",
                "object": "account",
                "type": params.get("type"),
                "email": params.get("email"),
                "details_submitted": False,
                "payouts_enabled": False,
                "metadata": params.get("metadata", {}),
            }
            self.accounts[account["id"]] = account
            return 200, account

        with self._lock:
            return self._idempotent(idempotency_key, params, answer)

    def _account_link_create(
        self, params: dict[str, Any], idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if params.get("account") not in self.accounts:
                return 400, {"error": {"type": "invalid_request_error", "message": "No such account."}}
            return 200, {
                "object": "account_link",
                "url": f"{self.url}/setup/{params['account']}",
                "expires_at": int(time.time()) + 300,
                "return_url": params.get("return_url"),
                "refresh_url": params.get("refresh_url"),
            }

    def _account_retrieve(self, account_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            account = self.accounts.get(account_id)
        if account is None:
            return 404, {
                "error": {"type": "invalid_request_error", "message": f"No such account: '{account_id}'"}
            }
        return 200, dict(account)

    def _session_create(
        self, params: dict[str, Any], idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.create_requests += 1
            if idempotency_key and idempotency_key in self.idempotency_keys:
                first_params, session_id = self.idempotency_keys[idempotency_key]
                if params != first_params:
                    return 400, {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same parameters "
                            "they were first used with.",
                        }
                    }
                return 200, dict(self.sessions[session_id])
            line_items = params.get("line_items", [])
            session_id = f"cs_test_{uuid.uuid4().hex}"
            session = {
                "id": session_id,
                "object": "checkout.session",
                "mode": params.get("mode"),
                "status": "open",
                "payment_status": "unpaid",
                "payment_intent": None,
                "amount_total": sum(
                    int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
                    for item in line_items
                ),
                "currency": line_items[0]["price_data"]["currency"] if line_items else None,
                "line_items_requested": line_items,
                "client_reference_id": params.get("client_reference_id"),
                "metadata": params.get("metadata", {}),
                "customer_email": params.get("customer_email"),
                "success_url": params.get("success_url"),
                "cancel_url": params.get("cancel_url"),
                "expires_at": int(params.get("expires_at", time.time() + 24 * 3600)),
                "created": int(time.time()),
                "livemode": False,
                "url": f"{self.url}/pay/{session_id}",
            }
            self.sessions[session_id] = session
            if idempotency_key:
                self.idempotency_keys[idempotency_key] = (params, session_id)
            return 200, dict(session)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                # Quiet: each request is the test's business, not its output.
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
                self._reply(status, {"error": {"type": kind, "message": message}})

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {standin.api_key}":
                    return True
                self._error(401, "Invalid API Key provided.")
                return False

            def do_POST(self) -> None:
                if not self._authorized():
                    return
                create = standin._post_routes().get(urlsplit(self.path).path)
                if create is None:
                    self._error(404, f"Unrecognized request URL (POST: {self.path}).")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                params = _nested(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                self._reply(*create(params, self.headers.get("Idempotency-Key")))

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                account = ACCOUNT_PATH.match(urlsplit(self.path).path)
                if account is not None:
                    self._reply(*standin._account_retrieve(account["id"]))
                    return
                match = SESSION_PATH.match(urlsplit(self.path).path)
                if match is None:
                    self._error(404, f"Unrecognized request URL (GET: {self.path}).")
                    return
                with standin._lock:
                    session = standin.sessions.get(match["id"])
                if session is None:
                    self._error(404, f"No such checkout.session: '{match['id']}'")
                    return
                self._reply(200, session)

        return Handler

    @contextmanager
    def running(self) -> Iterator["StripeStandIn"]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join()


def event(event_type: str, stripe_object: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """A webhook event as Stripe sends it, carrying a snapshot of the object."""
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": stripe_object},
    }


def charge(payment_intent: str, amount: int, *, refunded_amount: int | None = None) -> dict[str, Any]:
    """A charge after a refund (all of it unless `refunded_amount` says otherwise)."""
    refunded_amount = amount if refunded_amount is None else refunded_amount
    return {
        "id": f"ch_{uuid.uuid4().hex[:24]}",
        "object": "charge",
        "amount": amount,
        "amount_refunded": refunded_amount,
        "refunded": refunded_amount == amount,
        "payment_intent": payment_intent,
    }


def dispute(payment_intent: str, amount: int) -> dict[str, Any]:
    return {
        "id": f"dp_{uuid.uuid4().hex[:24]}",
        "object": "dispute",
        "amount": amount,
        "reason": "fraudulent",
        "status": "needs_response",
        "payment_intent": payment_intent,
    }
