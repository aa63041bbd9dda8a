"""Bad estimate input: a 400 with {"detail": ..., "errors": {field: [...]}}."""
from rest_framework.exceptions import ValidationError


class EstimateInputError(ValidationError):
    def __init__(self, message: str, field: str = "non_field_errors"):
        super().__init__({field: [message]})
        self.message = message
        self.field = field
