//! The item shape, a module next to its route file.

use serde::{Deserialize, Serialize};
use validator::Validate;

/// The request body: unknown fields are refused so typos do not pass silently, and every
/// rule that fails is answered at once (422 `validation_failed` with `error.fields`).
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    #[validate(length(max = 100), custom(function = "crate::validate::not_blank"))]
    name: String,
    #[validate(range(min = 1, max = 1000))]
    quantity: u32,
    #[serde(default)]
    #[validate(length(max = 10), custom(function = "crate::validate::tags"))]
    tags: Vec<String>,
}

/// The created item.
#[derive(Serialize)]
pub struct Item {
    name: String,
    quantity: u32,
    tags: Vec<String>,
}

impl From<NewItem> for Item {
    /// A valid item, trimmed.
    fn from(new: NewItem) -> Item {
        Item {
            name: new.name.trim().to_owned(),
            quantity: new.quantity,
            tags: new.tags.iter().map(|t| t.trim().to_owned()).collect(),
        }
    }
}
