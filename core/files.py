"""Private stored files as responses, and what every response of a file made from a creator's work asks of
crawlers."""

from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.http.response import HttpResponseBase

# Asked of every crawler on the derivatives: do not mine or train on these files.
NO_AI_HEADERS = {"X-Robots-Tag": "noai, noimageai", "tdm-reservation": "1"}


def stored_file_response(stored: FieldFile, *, max_age: int) -> HttpResponseBase:
    """A private stored file: streamed from local storage, or a redirect to a short-lived signed URL."""
    if not stored:
        raise Http404
    response: HttpResponseBase
    try:
        path = default_storage.path(str(stored.name))
    except NotImplementedError:  # Storage.path's answer for object storage
        response = HttpResponseRedirect(default_storage.url(stored.name))
    else:
        response = FileResponse(open(path, "rb"))  # noqa: SIM115 (FileResponse closes it)
    # Never kept by a shared cache.
    response["Cache-Control"] = f"private, max-age={max_age}"
    return response
