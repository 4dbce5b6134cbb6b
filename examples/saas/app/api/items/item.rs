//! The item shape, a module next to its route file.

use routekit::ApiError;
use serde::{Deserialize, Serialize};

/// The request body: unknown fields are refused so typos do not pass silently.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    name: String,
    quantity: u32,
    #[serde(default)]
    tags: Vec<String>,
}

/// The created item.
#[derive(Serialize)]
pub struct Item {
    name: String,
    quantity: u32,
    tags: Vec<String>,
}

impl NewItem {
    /// Checks the values the types cannot express.
    pub fn validate(self) -> Result<Item, ApiError> {
        let name = crate::validate::name("name", &self.name)?;
        if !(1..=1000).contains(&self.quantity) {
            return Err(ApiError::unprocessable("validation_failed", "quantity: must be 1 to 1000"));
        }
        if self.tags.len() > 10 {
            return Err(ApiError::unprocessable("validation_failed", "tags: at most 10"));
        }
        let tags = self
            .tags
            .iter()
            .map(|t| crate::validate::name("tags", t))
            .collect::<Result<_, _>>()?;
        Ok(Item { name, quantity: self.quantity, tags })
    }
}
