"""The endpoint Stripe posts its events to."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace import payments


# Stripe cannot send a CSRF token: the signature over the body is what authenticates the request.
@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Accept a signed Stripe event: 400 for a bad signature, 200 once it is stored (or already was)."""
    try:
        stored = payments.webhook_receive(
            body=request.body, signature_header=request.headers.get("Stripe-Signature", "")
        )
    except payments.WebhookRefused as refusal:
        return JsonResponse({"error": refusal.code, "detail": refusal.messages[0]}, status=400)
    return JsonResponse({"received": True, "duplicate": stored is None})
