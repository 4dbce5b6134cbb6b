//! Rules the `validator` derive does not have, shared by route files.

use validator::ValidationError;

/// Not empty once trimmed: a title of spaces is no title. Code `blank`.
pub(crate) fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    Ok(())
}
