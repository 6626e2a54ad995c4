from django.conf import settings
from django.db import models
from django.utils import timezone


class CreatorProfile(models.Model):
    """A creator's public identity and the facts buyers see in aggregate (country)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="creator_profile"
    )
    display_name = models.CharField(max_length=100)
    bio = models.TextField(blank=True, max_length=2000)
    # ISO 3166-1 alpha-2; datasets report creator countries only in aggregate.
    country = models.CharField(max_length=2, blank=True)
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.display_name
