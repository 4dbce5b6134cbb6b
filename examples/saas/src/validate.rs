//! Input checks shared by route files, answering 422 with a stable code.

use routekit::ApiError;

/// A display name: trimmed, 1 to 100 characters.
pub(crate) fn name(field: &str, value: &str) -> Result<String, ApiError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > 100 {
        return Err(ApiError::unprocessable(
            "validation_failed",
            format!("{field}: must be 1 to 100 characters"),
        ));
    }
    Ok(trimmed.to_owned())
}
