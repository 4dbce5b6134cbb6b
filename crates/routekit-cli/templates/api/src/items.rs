//! The items the API keeps, in memory: swap in a database (`routekit::Db`, feature `db`) when
//! they must outlive the process.

use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One item.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Item {
    pub(crate) id: u64,
    pub(crate) name: String,
}

/// Every item, shared by the handlers (an `Extension`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Items(Arc<Mutex<Vec<Item>>>);

impl Items {
    pub(crate) fn list(&self) -> Vec<Item> {
        self.0.lock().expect("items lock").clone()
    }

    pub(crate) fn add(&self, name: String) -> Item {
        let mut items = self.0.lock().expect("items lock");
        let item = Item {
            id: items.len() as u64 + 1,
            name,
        };
        items.push(item.clone());
        item
    }
}
