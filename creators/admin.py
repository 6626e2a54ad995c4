from django.contrib import admin

from .models import CreatorProfile


@admin.register(CreatorProfile)
class CreatorProfileAdmin(admin.ModelAdmin):
    list_display = ("display_name", "user", "country", "created_at")
    search_fields = ("display_name", "user__email")
    list_filter = ("country",)
    raw_id_fields = ("user",)
