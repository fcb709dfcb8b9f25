from consult.models.auth import AuthFailure, EnrolmentToken
from consult.models.people import Authority, User

__all__ = ["AuthFailure", "Authority", "EnrolmentToken", "User"]
