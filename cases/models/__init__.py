from cases.models.cases import Assignment, Case, Deadline

__all__ = ["Assignment", "Case", "Deadline"]
