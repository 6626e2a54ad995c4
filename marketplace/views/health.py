"""Probes for the orchestrator: liveness (`/healthz`) and readiness (`/readyz`)."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from marketplace import readiness


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the orchestrator: the process answers. It touches no database, broker or storage."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database, the broker and storage all answer, else 503 naming what failed."""
    results = readiness.checks_run()
    failed = [result.name for result in results if not result.ok]
    checks = {
        result.name: {
            "ok": result.ok,
            "ms": round(result.seconds * 1000, 1),
            **({"error": result.error} if result.error else {}),
        }
        for result in results
    }
    return JsonResponse(
        {"status": "unavailable" if failed else "ready", "failed": failed, "checks": checks},
        status=503 if failed else 200,
    )
