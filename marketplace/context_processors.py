from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """What every page's navigation needs: the site's name and the signed-in person's role."""
    user = request.user
    return {
        "site_name": settings.SITE_NAME,
        "is_reviewer": bool(user.is_authenticated and user.is_reviewer),
    }
