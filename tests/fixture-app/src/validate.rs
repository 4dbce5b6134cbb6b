//! Rules the `validator` derive does not have, shared by the fixture's route files.

use validator::ValidationError;

/// Not empty once trimmed. Code `blank`.
pub(crate) fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    Ok(())
}

/// Each tag is 1 to 100 characters once trimmed. Code `tag`.
pub(crate) fn tags(tags: &[String]) -> Result<(), ValidationError> {
    let fits = |t: &String| (1..=100).contains(&t.trim().chars().count());
    if !tags.iter().all(fits) {
        return Err(
            ValidationError::new("tag").with_message("each tag must be 1 to 100 characters".into())
        );
    }
    Ok(())
}
