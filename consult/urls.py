"""URL routes. Every route is behind the second-factor gate unless listed in
``consult.middleware.OPEN_URL_NAMES``; tests walk this resolver to prove it."""

from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path
from django.views.generic import RedirectView

from cases.views import pages as case_pages
from consult.api import api
from consult.views import auth, pages

# The admin signs in through Comity's own pages (password + second factor).
admin.site.login = RedirectView.as_view(pattern_name="login", query_string=True)  # type: ignore[method-assign,assignment]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="case-list"), name="home"),
    path("login/", auth.login_view, name="login"),
    path("login/verify/", auth.verify_view, name="verify"),
    path("logout/", auth.logout_view, name="logout"),
    path("enrol/<str:token>/", auth.enrol_link_view, name="enrol-link"),
    path("account/second-factor/", auth.enrol_totp_view, name="enrol-totp"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("cases/", case_pages.case_list, name="case-list"),
    path("cases/new/", case_pages.case_create, name="case-create"),
    path("cases/<str:case_id>/", case_pages.case_detail, name="case-detail"),
    path("cases/<str:case_id>/edit/", case_pages.case_edit, name="case-edit"),
    path("cases/<str:case_id>/assign/", case_pages.case_assign, name="case-assign"),
    path("", include("cases.urls")),  # workflow: registers, deadlines, notifications, statistics
    path("keys/", pages.keys_page, name="keys"),
    path("records-key/", pages.records_key_page, name="records-key"),
    path("threads/", pages.thread_list_page, name="thread-list"),
    path("threads/<str:thread_id>/", pages.thread_page, name="thread"),
    path("threads/<str:thread_id>/record/", pages.thread_export_page, name="thread-export"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

# Only with DEBUG (the demo); in production the TLS proxy serves collected files.
urlpatterns += staticfiles_urlpatterns()

handler404 = "consult.views.errors.not_found"
