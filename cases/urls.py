"""Workflow pages of the cases app (registers, deadlines, notifications, statistics).

Included from ``consult.urls``; every route is behind the second-factor gate.
"""

from django.urls import path

from cases.views import deadlines, registers, statistics

urlpatterns = [
    path("cases/<str:case_id>/registers/", registers.case_registers, name="case-registers"),
    path("cases/<str:case_id>/assurances/<str:assurance_id>/checklist/", registers.assurance_checklist,
         name="assurance-checklist"),
    path("cases/<str:case_id>/assurances/<str:assurance_id>/tasks/", registers.assurance_task_add,
         name="assurance-task-add"),
    path("cases/<str:case_id>/tasks/<str:task_id>/", registers.assurance_task_update, name="assurance-task-update"),
    path("cases/<str:case_id>/threads/<str:thread_id>/handling/", registers.thread_handling, name="thread-handling"),
    path("cases/<str:case_id>/deadlines/", deadlines.case_deadlines, name="case-deadlines"),
    path("cases/<str:case_id>/deadlines/<str:deadline_id>/extension/", deadlines.deadline_extend,
         name="deadline-extend"),
    path("cases/<str:case_id>/deadlines/<str:deadline_id>/met/", deadlines.deadline_met, name="deadline-met"),
    path("registers/assurances/", registers.assurance_register, name="assurance-register"),
    path("registers/assurances.csv", registers.assurance_register, {"csv": True}, name="assurance-register-csv"),
    path("registers/clarifications/", registers.clarification_register, name="clarification-register"),
    path("registers/clarifications.csv", registers.clarification_register, {"csv": True},
         name="clarification-register-csv"),
    path("notifications/", deadlines.notifications, name="notifications"),
    path("statistics/", statistics.statistics, name="statistics"),
    path("statistics/<str:table>.csv", statistics.statistics_csv, name="statistics-csv"),
]  # fmt: skip
